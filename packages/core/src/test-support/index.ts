export { type CapturedOutput, captureOutput } from './capture-output.js';
