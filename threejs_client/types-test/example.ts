// A TypeScript app using avatarlab-three's public API, type-checked (never run) by test/types.test.js:
// `tsc --noEmit -p types-test`. The @ts-expect-error lines prove the declarations are typed, not `any`.
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { VRMLoaderPlugin, type VRM } from '@pixiv/three-vrm';
import {
  ALL_CHANNELS, AudioCapture, AvatarSpeaker, CHANNEL_INDEX, Connection, CurveTrack, FaceDriver, LiveListener,
  OCULUS_VISEMES, RetargetProfile, VRM_PRESETS, VrmDriver, clock, decode, encode, pcm,
} from 'avatarlab-three';
import { VrmDriver as VrmDriverAlone } from 'avatarlab-three/VrmDriver';
import { AvatarSpeaker as AvatarSpeakerAlone } from 'avatarlab-three/AvatarSpeaker';
import { ARKIT_BLENDSHAPES } from 'avatarlab-three/vocabulary';
import 'avatarlab-three/PcmCaptureProcessor';
import 'avatarlab-three/PcmCaptureProcessor.js';

export async function talkingHead(renderer: THREE.WebGLRenderer, scene: THREE.Scene, camera: THREE.PerspectiveCamera) {
  const loader = new GLTFLoader();
  loader.register((parser) => new VRMLoaderPlugin(parser));
  const gltf = await loader.loadAsync('avatar.vrm');
  const vrm: VRM = gltf.userData.vrm;
  scene.add(vrm.scene);

  const speaker = new AvatarSpeaker({ url: 'ws://127.0.0.1:8765/ws', idle: true, voice: 'amy' });
  speaker.attach(vrm);
  speaker.addEventListener('lineend', () => undefined);
  const clockThree = new THREE.Clock();
  renderer.setAnimationLoop(() => {
    const info = speaker.update();
    const speaking: boolean = info.speaking;
    vrm.update(clockThree.getDelta());
    renderer.render(scene, camera);
    return speaking;
  });
  const result = await speaker.speak('Hello there!', { emotion: 'happy', speed: 1.1 });
  const heard: number = result.heardS;
  // @ts-expect-error speak takes text
  await speaker.speak(42);
  return heard;
}

export function driveVrmByHand(vrm: VRM, track: CurveTrack): number | null {
  const driver: FaceDriver = new VrmDriver({ idle: false, lookAt: true }).attach(vrm);
  const values = new Float32Array(ALL_CHANNELS.length);
  values[CHANNEL_INDEX.aa] = 1;
  (driver as VrmDriver).applyFrame(values);
  const weights: Record<string, number> = VrmDriver.expressionValues(values, VRM_PRESETS);
  const angles: { yaw: number; pitch: number } = VrmDriverAlone.lookAngles(values);
  driver.update(track, 0.5, performance.now() / 1000, 1 / 90);
  // @ts-expect-error the angles are numbers
  const wrong: string = angles.yaw;
  void wrong;
  return weights.aa + (new VrmDriver().attach(vrm).expressionValue('aa') ?? 0);
}

export function plainHead(root: THREE.Object3D) {
  const face = new FaceDriver({ profile: 'arkit' }).attach(root);
  const profile = RetargetProfile.get('oculus');
  const track = new CurveTrack([...OCULUS_VISEMES, ...ARKIT_BLENDSHAPES], 60);
  face.update(track, null, 0);
  const frame: number = clock.frameAt(0.25, 60);
  const bytes: Uint8Array = pcm.pcm16leBytes(pcm.floatToInt16(new Float32Array(4)));
  const packed = encode({ type: 'hello' });
  const unpacked = decode(packed);
  return { profile: profile.name, frame, bytes, unpacked, speaker: AvatarSpeakerAlone };
}

export async function listen(context: AudioContext) {
  const connection = new Connection('ws://127.0.0.1:8765/ws');
  const listener = new LiveListener({ connection, audioContext: context });
  const capture = AudioCapture;
  await connection.open();
  return { listener, capture };
}
