/**
 * avatarlab-three: drive three.js avatars from the avatarlab daemon through its WebSocket bridge.
 * @module avatarlab-three
 */
export { AvatarSpeaker, frameDelta } from './AvatarSpeaker.js';
export { SpatialVoice } from './SpatialVoice.js';
export { LOOK_AT_LIMITS, lookAngles, lookOffsets, addLookAt, lookAtOffsetsFor } from './LookAt.js';
export { LiveListener, LIVE_CHANNELS, listenHeader, pushHeader } from './LiveListener.js';
export { AudioCapture } from './AudioCapture.js';
export { LinearResampler } from './LinearResampler.js';
export { Connection, decodeFrame, encodeFrame } from './Connection.js';
export { AudioStream } from './AudioStream.js';
export { CurveTrack } from './CurveTrack.js';
export { FaceDriver, avatarRotation, idleMotion } from './FaceDriver.js';
export { VrmDriver, VRM_PRESETS } from './VrmDriver.js';
export { RetargetProfile, ALL_CHANNELS, CHANNEL_INDEX } from './RetargetProfile.js';
export * as clock from './clock.js';
export * as pcm from './pcm.js';
export { encode, decode, MsgPackError } from './MsgPack.js';
export * from './generated/vocabulary.js';
