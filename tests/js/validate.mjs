// Khronos glTF validator on one GLB: prints {numErrors, numWarnings, messages} as JSON.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const path = process.argv[2];
const bytes = new Uint8Array(await readFile(path));
const report = await validator.validateBytes(bytes, { maxIssues: 200 });
const messages = report.issues.messages
  .filter((m) => m.severity <= 1)
  .map((m) => ({ severity: m.severity, code: m.code, message: m.message, pointer: m.pointer }));
console.log(JSON.stringify({
  numErrors: report.issues.numErrors,
  numWarnings: report.issues.numWarnings,
  numInfos: report.issues.numInfos,
  messages,
  info: report.info,
}));
