// Module resolution hooks: a bare `three` import (ours, the peer dependency) resolves to three 0.150.0, the
// oldest three the peer range (>=0.150.0) allows, installed as the `three-0150` devDependency alias.
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'three' || specifier.startsWith('three/')) {
    return nextResolve(specifier.replace(/^three/, 'three-0150'), context);
  }
  return nextResolve(specifier, context);
}
