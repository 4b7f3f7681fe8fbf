// Load a GLB with three.js GLTFLoader under node; print the morph target dictionaries and animation clips as JSON.
import { readFile } from "node:fs/promises";
import { Texture } from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const path = process.argv[2];
const data = await readFile(path);
const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);

// node has no image decoder: each texture becomes an empty Texture (counted); everything else loads as in a browser
let textures = 0;
const loader = new GLTFLoader().register(() => ({
  name: "node_textures",
  loadTexture: () => { textures += 1; return Promise.resolve(new Texture()); },
}));
const gltf = await new Promise((resolve, reject) => loader.parse(buffer, "", resolve, reject));
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
console.log(JSON.stringify({ meshes, nodes, clips, textures, extras: gltf.asset.extras ?? null }));
