// Load a GLB with three.js GLTFLoader under node; print the morph target dictionaries and animation clips as JSON.
import { readFile } from "node:fs/promises";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const path = process.argv[2];
const data = await readFile(path);
const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);

const gltf = await new Promise((resolve, reject) => new GLTFLoader().parse(buffer, "", resolve, reject));
const meshes = [];
gltf.scene.traverse((object) => {
  if (object.isMesh && object.morphTargetDictionary) {
    meshes.push({ name: object.name, parent: object.parent?.name ?? null, dictionary: object.morphTargetDictionary });
  }
});
const nodes = [];
gltf.scene.traverse((object) => nodes.push(object.name));
const clips = gltf.animations.map((clip) => ({
  name: clip.name,
  duration: clip.duration,
  tracks: clip.tracks.map((track) => ({
    name: track.name,
    type: track.ValueTypeName,
    times: track.times.length,
    values: track.values.length,
    valueSize: track.getValueSize(),
  })),
}));
console.log(JSON.stringify({ meshes, nodes, clips, extras: gltf.asset.extras ?? null }));
