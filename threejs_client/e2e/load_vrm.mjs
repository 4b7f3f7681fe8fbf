// Load a VRM with @pixiv/three-vrm in Debian's chromium (playwright-core, WebGL on SwiftShader, no display) and draw
// its face with expressions set through three-vrm's own expression manager: how a VRM app sees our .vrm
// (tests/test_photo_avatar_vrm.py).
//   node load_vrm.mjs --vrm head.vrm --out DIR [--size 384] [--chromium /usr/bin/chromium]
// Writes DIR/<pose>.png for each pose (neutral, blink, aa) and prints one JSON line:
//   {metaVersion, name, bones: {role: node name}, expressions: [names], lookAtType, firstPerson: [{node, type}],
//    poses: [names], console: [...], error?}
import { launchChromium, recordConsole } from './browser.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serveStatic } from './static_server.mjs';

const { values: args } = parseArgs({ options: {
  vrm: { type: 'string' },
  out: { type: 'string' },
  size: { type: 'string', default: '384' },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });
const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POSES = { neutral: {}, blink: { blink: 1 }, aa: { aa: 1 } };
const PAGE = `<!doctype html><meta charset="utf-8"><title>load vrm</title>
<script type="importmap">{"imports": {"three": "/three/build/three.module.js", "three/addons/": "/three/examples/jsm/",
  "@pixiv/three-vrm": "/three-vrm/three-vrm.module.js"}}</script>
<script type="module">
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { VRMLoaderPlugin } from '@pixiv/three-vrm';
window.drawVrm = async (size, poses) => {
  const loader = new GLTFLoader();
  loader.register((parser) => new VRMLoaderPlugin(parser));
  const gltf = await loader.parseAsync(await (await fetch('/avatar.vrm')).arrayBuffer(), '');
  const vrm = gltf.userData.vrm;
  const canvas = document.createElement('canvas');
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(size, size, false);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color('#1e2028');
  scene.add(new THREE.HemisphereLight(0xffffff, 0x445566, 1.6));
  const light = new THREE.DirectionalLight(0xffffff, 1.8);
  light.position.set(0.5, 1.0, 2.0);
  scene.add(light);
  scene.add(vrm.scene);
  vrm.update(0);
  const head = vrm.humanoid.getRawBoneNode('head').getWorldPosition(new THREE.Vector3());
  const camera = new THREE.PerspectiveCamera(25, 1, 0.01, 10);
  camera.position.set(head.x, head.y + 0.06, head.z + 0.6);
  camera.lookAt(head.x, head.y + 0.06, head.z);
  const images = {};
  for (const [name, values] of Object.entries(poses)) {
    for (const expression of vrm.expressionManager.expressions) {
      vrm.expressionManager.setValue(expression.expressionName, 0);
    }
    for (const [expression, value] of Object.entries(values)) vrm.expressionManager.setValue(expression, value);
    vrm.update(0);
    renderer.render(scene, camera);
    images[name] = canvas.toDataURL('image/png');
  }
  const nodeName = (node) => node && node.name;
  return {
    metaVersion: vrm.meta.metaVersion, name: vrm.meta.name,
    bones: Object.fromEntries(Object.entries(vrm.humanoid.humanBones)
      .map(([role, bone]) => [role, nodeName(bone.node)])),
    expressions: vrm.expressionManager.expressions.map((e) => e.expressionName),
    lookAtType: vrm.lookAt && vrm.lookAt.applier
      && (vrm.lookAt.applier.type || vrm.lookAt.applier.constructor.type),
    firstPerson: (vrm.firstPerson ? vrm.firstPerson.meshAnnotations : [])
      .map((a) => ({ node: a.meshes[0] && a.meshes[0].name, type: a.type })),
    images,
  };
};
window.pageReady = true;
</script>`;

const server = await serveStatic({ page: PAGE, files: { '/avatar.vrm': resolve(args.vrm) }, roots: {
  '/three/': join(PKG, 'node_modules/three/'), '/three-vrm/': join(PKG, 'node_modules/@pixiv/three-vrm/lib/') } });
const out = { console: [] };
const browser = await launchChromium(args.chromium);
try {
  const page = await browser.newPage({ viewport: { width: 320, height: 240 } });
  recordConsole(page, out);
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 60000 });
  const result = await page.evaluate(([size, poses]) => window.drawVrm(size, poses), [Number(args.size), POSES]);
  mkdirSync(args.out, { recursive: true });
  for (const [name, url] of Object.entries(result.images)) {
    writeFileSync(join(args.out, `${name}.png`), Buffer.from(url.split(',')[1], 'base64'));
  }
  delete result.images;
  Object.assign(out, result, { poses: Object.keys(POSES) });
} catch (error) {
  out.error = String(error && error.stack || error);
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(out));
