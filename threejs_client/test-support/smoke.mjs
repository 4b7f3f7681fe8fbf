// Load every export of the package with whichever `three` resolves, drive a morph-target head and a VRM-shaped
// object for one frame, print {revision, exports, influence, aa} as JSON (test/exports.test.js runs it).
import * as THREE from 'three';
import * as pkg from 'avatarlab-three';

const geometry = new THREE.BufferGeometry();
geometry.setAttribute('position', new THREE.Float32BufferAttribute([0, 0, 0, 1, 0, 0, 0, 1, 0], 3));
geometry.morphAttributes.position = [new THREE.Float32BufferAttribute(new Array(9).fill(0), 3)];
const mesh = new THREE.Mesh(geometry, new THREE.MeshBasicMaterial());
mesh.morphTargetDictionary = { jawOpen: 0 };
mesh.morphTargetInfluences = [0];
const head = new THREE.Group();
head.name = 'Head';
head.add(mesh);
const root = new THREE.Group();
root.add(head);
const track = new pkg.CurveTrack(['jawOpen', 'aa', 'headYaw'], 60);
track.add(0, 1, Float32Array.from([0.7, 0.5, 0.3]));
const face = new pkg.FaceDriver({ idle: false }).attach(root);
face.update(track, 0, 0);

const values = new Map();
const vrm = { scene: new THREE.Group(), expressionManager: { getExpression: (n) => ({ expressionName: n }),
  setValue: (n, v) => values.set(n, v), getValue: (n) => values.get(n) ?? 0, expressions: [] },
humanoid: { getNormalizedBoneNode: () => null }, lookAt: { yaw: 0, pitch: 0 } };
new pkg.VrmDriver({ idle: false }).attach(vrm).update(track, 0, 0);

const modules = {};
for (const key of ['Connection', 'AudioStream', 'FaceDriver', 'VrmDriver', 'RetargetProfile', 'AvatarSpeaker',
  'LiveListener', 'AudioCapture', 'LinearResampler', 'CurveTrack', 'pcm', 'MsgPack', 'clock', 'vocabulary']) {
  modules[key] = Object.keys(await import(`avatarlab-three/${key}`)).length;
}
console.log(JSON.stringify({ revision: THREE.REVISION, exports: Object.keys(pkg).length, modules,
  influence: mesh.morphTargetInfluences[0], headTurned: head.quaternion.y !== 0, aa: values.get('aa') }));
