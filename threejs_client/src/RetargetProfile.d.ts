/** Every channel the protocol can send, in one global order: visemes, ARKit, head, eyes. */
export const ALL_CHANNELS: readonly string[];
/** Channel name -> index into ALL_CHANNELS. */
export const CHANNEL_INDEX: Readonly<{
    [k: string]: number;
}>;
/**
 * One rig convention: which of our channels drive each of the rig's morph targets (weighted, clipped
 * sum), and which node names carry head and eye rotation. Profiles are the project's data
 * (sdk/avatarlab/data/retarget_profiles.json, generated into this package).
 */
export class RetargetProfile {
    /** @param {string} name one of `RetargetProfile.names` */
    static get(name: string): RetargetProfile;
    static get names(): string[];
    /**
     * The profile that drives most of these morph target names (ties: arkit, oculus, vrm).
     * @param {Iterable<string>} targetNames
     */
    static auto(targetNames: Iterable<string>): RetargetProfile;
    /**
     * Weight of one target from global channel values: the clipped sum of its terms.
     * @param {Array<[number, number]>} terms
     * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
     */
    static weight(terms: Array<[number, number]>, values: Float32Array | number[]): number;
    /**
     * @param {string} name
     * @param {{targets: Record<string, Array<[string, number]>>, nodes: Record<string, string[]>, description?: string}} spec
     */
    constructor(name: string, spec: {
        targets: Record<string, Array<[string, number]>>;
        nodes: Record<string, string[]>;
        description?: string;
    });
    name: string;
    description: string;
    /** @type {Record<string, Array<[number, number]>>} target -> [[global channel index, weight]] */
    targets: Record<string, Array<[number, number]>>;
    nodes: Record<string, string[]>;
    _lower: Map<string, string>;
    /**
     * The weighted channels that drive a model's target name: exact match, then case-insensitive,
     * then after dropping a DCC prefix (`blendShape1.jawOpen`, `Face|jawOpen`). null when none.
     * @param {string} targetName
     * @returns {Array<[number, number]>|null}
     */
    resolve(targetName: string): Array<[number, number]> | null;
}
