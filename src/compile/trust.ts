/**
 * Which compiled models may run (DECISIONS.md D24). Generated source is safe by
 * construction (the code generator interpolates only validated numbers and names it makes
 * itself), so a compiled model is safe exactly when this library's compiler made it. It
 * proves that with a signature: an HMAC-SHA256 over the model's source and layout, keyed by
 *
 * - the process key: 32 random bytes made once per process; the worker threads of this
 *   library's pools receive it in their `workerData`, so a model compiled here runs there;
 * - or an operator key, for models that cross processes: `compileModel(model, { key })`
 *   signs with it, and a process that calls `trustModelKey(key)` accepts what it signed.
 *
 * Anything else that claims to be a compiled model is rejected before any of it is evaluated.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isMainThread, workerData } from "node:worker_threads";
import { ModelError } from "../model/errors.js";
import type { CompiledModel } from "./layouts.js";

/** The `workerData` field through which pool threads receive the process key. */
export const WORKER_KEY_FIELD = "bayestsModelKey";

function inheritedKey(): Uint8Array | null {
  if (isMainThread || typeof workerData !== "object" || workerData === null) return null;
  const k: unknown = (workerData as Record<string, unknown>)[WORKER_KEY_FIELD];
  return k instanceof Uint8Array && k.length === 32 ? Uint8Array.from(k) : null;
}

const processKey: Uint8Array = inheritedKey() ?? new Uint8Array(randomBytes(32));
const operatorKeys: Uint8Array[] = [];

/** What a worker thread of this process needs in its `workerData` to run models compiled here. */
export function workerTrustData(): Record<string, Uint8Array> {
  return { [WORKER_KEY_FIELD]: Uint8Array.from(processKey) };
}

/** A key as operators give it: at least 32 bytes, or a string of at least 32 characters (its UTF-8 bytes). */
export function keyBytes(key: unknown, what = "key"): Uint8Array {
  if (typeof key === "string" && key.length >= 32) return new TextEncoder().encode(key);
  if (key instanceof Uint8Array && key.length >= 32) return Uint8Array.from(key);
  throw new ModelError("invalid-argument", `${what} must be a Uint8Array of at least 32 bytes or a string of at least 32 characters`);
}

/**
 * Accepts compiled models signed with `key` (`compileModel(model, { key })`, in this or
 * another process) from now on, in this process. Keep the key secret: whoever holds it can
 * make this process run code.
 */
export function trustModelKey(key: string | Uint8Array): void {
  const bytes = keyBytes(key);
  if (!operatorKeys.some((k) => k.length === bytes.length && timingSafeEqual(k, bytes))) operatorKeys.push(bytes);
}

/** The signature of `payload` (the canonical text of a model's source and layout). */
export function sign(payload: string, key: Uint8Array = processKey): string {
  return createHmac("sha256", key).update(payload).digest("hex");
}

/** Which key signed `payload`: "process", "operator", or null when none did. */
export function signedBy(payload: string, signature: string): "process" | "operator" | null {
  if (!/^[0-9a-f]{64}$/.test(signature)) return null;
  const given = Buffer.from(signature, "hex");
  const matches = (key: Uint8Array) => timingSafeEqual(createHmac("sha256", key).update(payload).digest(), given);
  if (matches(processKey)) return "process";
  return operatorKeys.some(matches) ? "operator" : null;
}

/** The text a signature covers: every field of the model, the constants by type and length (their values are data). */
export function signedText(m: Omit<CompiledModel, "signature">): string {
  return JSON.stringify([
    "bayests-compiled-model-1",
    m.name,
    m.backend,
    m.dim,
    m.source,
    m.constants.map((c) => [c instanceof Int32Array ? "i32" : "f64", c.length]),
    m.outputs.map((o) => [o.name, o.shape, o.dims ?? null, o.offset]),
    m.params.map((p) => [p.name, p.shape, p.offset, p.size, p.unconstrainedLabel]),
    m.contextSizes,
    m.observed?.map((o) => [o.name, o.shape, o.offset, o.valueShape, o.dims ?? null, o.value]) ?? null,
    m.data?.map((d) => [d.name, d.shape, d.constant]) ?? null,
    m.tunables?.map((t) => [t.param, t.index, t.initial, t.offset, t.size]) ?? null,
  ]);
}
