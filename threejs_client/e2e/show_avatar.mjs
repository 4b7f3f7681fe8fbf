// Open the web demo page in Debian's chromium (playwright-core) and drive the avatar it loaded from the bridge
// (/avatar/default_head.glb, whatever `avatarlab bridge --avatar` serves): report what the page's FaceDriver bound
// and which meshes are textured, then hold each pose (channel values, the rest at 0, no idle motion) on the page's
// own FaceDriver and screenshot the view. Needs no daemon. Prints one JSON line.
//   node show_avatar.mjs --url http://127.0.0.1:8765/demo/ --out DIR --pose rest= --pose aa=aa:1,jawOpen:0.2
import { launchChromium, recordConsole } from './browser.mjs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: {
  url: { type: 'string' }, out: { type: 'string' }, pose: { type: 'string', multiple: true, default: [] },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });

/** "name=channel:value,channel:value" -> [name, {channel: value}] */
function parsePose(text) {
  const [name, values = ''] = text.split('=');
  const pose = Object.fromEntries(values.split(',').filter(Boolean).map((term) => {
    const [channel, value] = term.split(':');
    return [channel, Number(value)];
  }));
  return [name, pose];
}

const browser = await launchChromium(args.chromium);
const out = { console: [], shots: {} };
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  recordConsole(page, out);
  await page.goto(args.url);
  await page.waitForFunction(() => window.demo && window.demo.avatar, null, { timeout: 60000 });
  out.avatar = await page.evaluate(async () => {
    const { CHANNEL_INDEX } = await import('avatarlab-three');
    const face = window.demo.speaker.face;
    const textured = [];
    const targets = {};
    window.demo.avatar.traverse((o) => {
      if (o.isMesh && o.material && o.material.map && o.material.map.image) textured.push(o.name);
      if (o.morphTargetDictionary) targets[o.name] = Object.keys(o.morphTargetDictionary).length;
    });
    // the page's loop calls face.update every frame: while window.heldPose is set, apply it instead
    const update = face.update.bind(face);
    face.update = (...rest) => {
      if (!window.heldPose) return update(...rest);
      face.values.fill(0);
      for (const [channel, value] of Object.entries(window.heldPose)) face.values[CHANNEL_INDEX[channel]] = value;
      face._apply();
      return false;
    };
    return { profile: face.profile.name, bindings: face.bindings.length, missing: face.missingTargets,
      rotationNodes: Object.keys(face.rotationNodes), textured, targets };
  });
  for (const [name, pose] of args.pose.map(parsePose)) {
    await page.evaluate((held) => { window.heldPose = held; }, pose);
    // two frames: one applies the pose, the next is drawn with it
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    const path = `${args.out}/${name}.png`;
    await page.locator('#view canvas').screenshot({ path });
    out.shots[name] = path;
  }
} catch (error) {
  out.error = String(error.stack || error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
