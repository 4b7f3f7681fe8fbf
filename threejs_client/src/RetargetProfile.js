import { ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES, RETARGET_PROFILES } from './generated/vocabulary.js';

/** Every channel the protocol can send, in one global order: visemes, ARKit, head, eyes. */
export const ALL_CHANNELS = Object.freeze([...OCULUS_VISEMES, ...ARKIT_BLENDSHAPES, ...HEAD_CHANNELS, ...EYE_CHANNELS]);
/** Channel name -> index into ALL_CHANNELS. */
export const CHANNEL_INDEX = Object.freeze(Object.fromEntries(ALL_CHANNELS.map((name, i) => [name, i])));

/** Profile names tried by `auto`, in tie-break order. */
const AUTO_ORDER = ['arkit', 'oculus', 'vrm'];

/**
 * One rig convention: which of our channels drive each of the rig's morph targets (weighted, clipped
 * sum), and which node names carry head and eye rotation. Profiles are the project's data
 * (sdk/avatarlab/data/retarget_profiles.json, generated into this package).
 */
export class RetargetProfile {
  /**
   * @param {string} name
   * @param {{targets: Record<string, Array<[string, number]>>, nodes: Record<string, string[]>, description?: string}} spec
   */
  constructor(name, spec) {
    this.name = name;
    this.description = spec.description || '';
    /** @type {Record<string, Array<[number, number]>>} target -> [[global channel index, weight]] */
    this.targets = {};
    for (const [target, terms] of Object.entries(spec.targets)) {
      this.targets[target] = terms.filter(([ch]) => ch in CHANNEL_INDEX).map(([ch, w]) => [CHANNEL_INDEX[ch], w]);
    }
    this.nodes = spec.nodes || { head: [], leftEye: [], rightEye: [] };
    this._lower = new Map(Object.keys(this.targets).map((t) => [t.toLowerCase(), t]));
  }

  /** @param {string} name one of `RetargetProfile.names` */
  static get(name) {
    const spec = RETARGET_PROFILES[name];
    if (!spec) throw new Error(`unknown retarget profile '${name}'; one of ${Object.keys(RETARGET_PROFILES).join(', ')}`);
    return new RetargetProfile(name, spec);
  }

  static get names() { return Object.keys(RETARGET_PROFILES); }

  /**
   * The profile that drives most of these morph target names (ties: arkit, oculus, vrm).
   * @param {Iterable<string>} targetNames
   */
  static auto(targetNames) {
    const names = [...targetNames];
    let best = null;
    let bestCount = -1;
    for (const name of AUTO_ORDER) {
      const profile = RetargetProfile.get(name);
      const count = names.filter((n) => profile.resolve(n) !== null).length;
      if (count > bestCount) { best = profile; bestCount = count; }
    }
    return best;
  }

  /**
   * The weighted channels that drive a model's target name: exact match, then case-insensitive,
   * then after dropping a DCC prefix (`blendShape1.jawOpen`, `Face|jawOpen`). null when none.
   * @param {string} targetName
   * @returns {Array<[number, number]>|null}
   */
  resolve(targetName) {
    if (targetName in this.targets) return this.targets[targetName];
    const lower = this._lower.get(targetName.toLowerCase());
    if (lower) return this.targets[lower];
    const stripped = targetName.split(/[.|:]/).pop();
    if (stripped !== targetName) return this.resolve(stripped);
    return null;
  }

  /**
   * Weight of one target from global channel values: the clipped sum of its terms.
   * @param {Array<[number, number]>} terms
   * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
   */
  static weight(terms, values) {
    let sum = 0;
    for (const [index, w] of terms) sum += values[index] * w;
    return sum < 0 ? 0 : sum > 1 ? 1 : sum;
  }
}
