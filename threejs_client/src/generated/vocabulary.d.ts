/** Oculus viseme channel names, in protocol column order. @type {readonly string[]} */
export const OCULUS_VISEMES: readonly string[];
/** ARKit blendshape channel names, in protocol column order. @type {readonly string[]} */
export const ARKIT_BLENDSHAPES: readonly string[];
/** Head rotation channels (radians). @type {readonly string[]} */
export const HEAD_CHANNELS: readonly string[];
/** Eye rotation channels (radians). @type {readonly string[]} */
export const EYE_CHANNELS: readonly string[];
/**
 * Retarget profiles: target name -> [[channel, weight], ...] and candidate head/eye node names.
 * @type {Readonly<Record<string, {description: string, targets: Record<string, Array<[string, number]>>, nodes: {head: string[], leftEye: string[], rightEye: string[]}}>>}
 */
export const RETARGET_PROFILES: Readonly<Record<string, {
    description: string;
    targets: Record<string, Array<[string, number]>>;
    nodes: {
        head: string[];
        leftEye: string[];
        rightEye: string[];
    };
}>>;
