// Stand-ins the node tests share: a daemon connection whose messages the test delivers, and a tiny head.
import * as THREE from 'three';

/** A daemon reached through a fake connection: the test delivers each message when it chooses. */
export class FakeConnection {
  constructor() { this.handlers = new Map(); this.sent = []; this.connected = true; }
  open() { return Promise.resolve({ type: 'welcome' }); }
  newId(prefix) { return `${prefix}1`; }
  stream(id, handler) { this.handlers.set(id, handler); }
  forget(id) { this.handlers.delete(id); }
  send(header) { this.sent.push(header); }
  close() { this.connected = false; }
  deliver(header, payloads = []) { this.handlers.get(header.id)(header, payloads); }
}

/** One triangle with a jawOpen morph target. */
export function jawMesh() {
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute([0, 0, 0, 1, 0, 0, 0, 1, 0], 3));
  const mesh = new THREE.Mesh(geometry, new THREE.MeshBasicMaterial());
  mesh.morphTargetDictionary = { jawOpen: 0 };
  mesh.morphTargetInfluences = [0];
  return mesh;
}

/** A head bone named Head (0.1 up) with a jawOpen mesh, and eye bones when `eyes`, at `position`, facing +Z. */
export function testHead(position = new THREE.Vector3(), { eyes = false } = {}) {
  const root = new THREE.Group();
  root.position.copy(position);
  const head = new THREE.Group();
  head.name = 'Head';
  head.position.set(0, 0.1, 0);
  for (const name of eyes ? ['LeftEye', 'RightEye'] : []) {
    const eye = new THREE.Group();
    eye.name = name;
    eye.position.set(name === 'LeftEye' ? 0.03 : -0.03, 0.08, 0.04);
    head.add(eye);
  }
  head.add(jawMesh());
  root.add(head);
  root.updateMatrixWorld(true);
  return root;
}
