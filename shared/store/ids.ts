// 24-hex ObjectId-compatible ids (4-byte seconds, 5 random bytes, 3-byte counter), so ids created
// here look exactly like the original engine's MongoDB ids.
import { randomBytes } from "node:crypto";

const processRandom = randomBytes(5).toString("hex");
let counter = randomBytes(3).readUIntBE(0, 3);

/** A new ObjectId-shaped hex id, increasing with time. */
export function newObjectId(now: Date = new Date()): string {
  counter = (counter + 1) % 0xffffff;
  const seconds = Math.floor(now.getTime() / 1000)
    .toString(16)
    .padStart(8, "0");
  return `${seconds}${processRandom}${counter.toString(16).padStart(6, "0")}`;
}

// Lowercase only: ids are always written lowercase, and the MongoDB adapter maps exactly those to ObjectId.
const OBJECT_ID = /^[0-9a-f]{24}$/;

/** True for a 24-hex id; any other path id is treated as not found rather than as bad input. */
export function isObjectId(value: string): boolean {
  return OBJECT_ID.test(value);
}
