// The page side of draw_frames.mjs: three.js draws an avatar's frames the way the web client does (GLTFLoader,
// FaceDriver through the retarget profiles, a CurveTrack sampled at frame i / fps), offscreen, at a given size.
// Passes: 'lit' (the web demo's materials and lights) or 'labels' (every material replaced by one flat, unlit
// colour per vertex, given per glTF mesh/primitive: a segmentation the offscreen Python renderer can draw too).
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { CurveTrack, FaceDriver } from 'avatarlab-three';

async function fetchBytes(url) {
  const reply = await fetch(url);
  if (!reply.ok) throw new Error(`${url}: HTTP ${reply.status}`);
  return reply.arrayBuffer();
}

/** A camera with the numbers of the Python renderer's Camera (eye, target, up, vertical fov in degrees). */
function makeCamera(spec, aspect) {
  const camera = new THREE.PerspectiveCamera(spec.fov, aspect, spec.near, spec.far);
  camera.up.set(...spec.up);
  camera.position.set(...spec.eye);
  camera.lookAt(...spec.target);
  camera.updateMatrixWorld(true);
  return camera;
}

/** Replace every mesh's material by unlit vertex colours: labels["mesh/primitive"] or the default colour. */
function applyLabels(gltf, labels, fallback) {
  gltf.scene.traverse((object) => {
    if (!object.isMesh) return;
    const where = gltf.parser.associations.get(object) || {};
    const key = `${where.meshes}/${where.primitives}`;
    const count = object.geometry.getAttribute('position').count;
    let colours = labels[key];
    if (colours && colours.length !== count * 3) {
      throw new Error(`labels for ${key}: ${colours.length / 3} vertices, the primitive has ${count}`);
    }
    if (!colours) colours = new Float32Array(count * 3).map((_, i) => fallback[i % 3]);
    object.geometry.setAttribute('color', new THREE.BufferAttribute(colours, 3));
    object.material = new THREE.MeshBasicMaterial({ vertexColors: true, side: object.material.side });
  });
}

/**
 * Set up one pass. spec: {width, height, camera, background, antialias, fps, columns, frames (Float32 row-major
 * url), avatar (url), labels: {key: url} | null, fallback: [r, g, b]}.
 */
async function setup(spec) {
  const canvas = document.createElement('canvas');
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: spec.antialias, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(spec.width, spec.height, false);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(spec.background);
  const gltf = await new GLTFLoader().parseAsync(await fetchBytes(spec.avatar), '');
  if (spec.labels) {
    const labels = {};
    for (const [key, url] of Object.entries(spec.labels)) labels[key] = new Float32Array(await fetchBytes(url));
    applyLabels(gltf, labels, spec.fallback);
  } else {  // the web demo's lights
    scene.add(new THREE.HemisphereLight(0xffffff, 0x445566, 1.6));
    const key = new THREE.DirectionalLight(0xffffff, 1.8);
    key.position.set(0.6, 1.0, 1.4);
    scene.add(key);
  }
  scene.add(gltf.scene);
  const face = new FaceDriver({ idle: false });
  face.attach(gltf.scene);
  const values = new Float32Array(await fetchBytes(spec.frames));
  const track = new CurveTrack(spec.columns, spec.fps);
  const numFrames = values.length / spec.columns.length;
  track.add(0, numFrames, values);
  const camera = makeCamera(spec.camera, spec.width / spec.height);
  const gl = renderer.getContext();
  const pixels = new Uint8Array(spec.width * spec.height * 4);
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  window.pass = {
    numFrames,
    profile: face.profile.name,
    glRenderer: info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
    /** Pose frame i (the curves at i / fps, as the client samples them) and draw it. */
    draw(i) {
      face.update(track, i / spec.fps, 0, 1);
      renderer.render(scene, camera);
    },
    /** Frame i as a PNG data URL (the canvas, top row first). */
    png(i) {
      this.draw(i);
      return canvas.toDataURL('image/png');
    },
    /** Draw frames [0, n) and read each back (as a video renderer must); per-frame milliseconds. */
    time(n) {
      const times = [];
      for (let i = 0; i < n; i++) {
        const start = performance.now();
        this.draw(i % numFrames);
        gl.readPixels(0, 0, spec.width, spec.height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
        times.push(performance.now() - start);
      }
      return times;
    },
    dispose() { renderer.dispose(); renderer.forceContextLoss(); },
  };
  return { numFrames, profile: face.profile.name, glRenderer: window.pass.glRenderer,
    missingTargets: face.missingTargets.length };
}

window.setupPass = setup;
window.pageReady = true;
