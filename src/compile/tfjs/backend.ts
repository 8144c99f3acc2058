/**
 * TensorFlow.js loading and device choice, detected at run time and loaded lazily (a worker
 * that runs a js model never loads tfjs: ~150 ms of module loading saved).
 *
 * Devices in order of preference: "tensorflow" (`@tensorflow/tfjs-node` or `-gpu`, native
 * libtensorflow, multi-threaded, a GPU with -gpu), when installed and loadable; else "wasm"
 * (`@tensorflow/tfjs-backend-wasm`, SIMD when the runtime has it; tfjs runs wasm threads only
 * in browsers); else "cpu" (tfjs's pure JavaScript backend). tfjs's engine is global to a
 * thread, so one thread has one active device; a density switches to its own before each call.
 */
import { createRequire } from "node:module";
import type * as TF from "@tensorflow/tfjs-core";

export type TfjsDevice = "tensorflow" | "wasm" | "cpu";
/** A device, or "auto": the best one available. */
export type TfjsDevicePreference = TfjsDevice | "auto";

const require = createRequire(import.meta.url);
let core: typeof TF | null = null;
let nativeTried = false;
let nativeError: string | null = null;
const ready = new Set<TfjsDevice>();
const pending = new Map<TfjsDevice, Promise<boolean>>();

/**
 * The tfjs packages are optional peer dependencies (a pure-JS install does without their
 * ~65 MB): using the tfjs backend without them throws this, naming what to install.
 */
export class TfjsMissingError extends Error {
  constructor(readonly packages: readonly string[], cause: unknown) {
    super(`the tfjs backend needs the optional package${packages.length === 1 ? "" : "s"} ${packages.join(" and ")}: npm install ${packages.join(" ")}`, { cause });
    this.name = "TfjsMissingError";
  }
}

function requireOptional<T>(pkg: string, all: readonly string[]): T {
  try {
    return require(pkg) as T;
  } catch (e) {
    if ((e as { code?: string }).code === "MODULE_NOT_FOUND") throw new TfjsMissingError(all, e);
    throw e;
  }
}

const CORE_PACKAGES = ["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-cpu"] as const;

/** tfjs-core with the cpu backend registered (loaded on first use). */
export function tfjs(): typeof TF {
  if (core === null) {
    const tf = requireOptional<typeof TF>("@tensorflow/tfjs-core", CORE_PACKAGES);
    // PROD: no debug checks and no "install tfjs-node" banner on first use.
    tf.env().set("PROD", true);
    requireOptional("@tensorflow/tfjs-backend-cpu", CORE_PACKAGES);
    core = tf;
    ready.add("cpu");
  }
  return core;
}

/** Tries `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`, once per thread. */
function loadNative(): boolean {
  if (!nativeTried) {
    nativeTried = true;
    const tf = tfjs();
    const before = tf.engine().backendName;
    const errors: string[] = [];
    // libtensorflow's start-up notices (oneDNN, CPU features) unless the user asked for them.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
    for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      try {
        require(pkg);
        if (tf.findBackend("tensorflow") !== null) {
          ready.add("tensorflow");
          break;
        }
      } catch (e) {
        errors.push(`${pkg}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    nativeError = ready.has("tensorflow") ? null : errors.join("; ");
    // Loading tfjs-node makes "tensorflow" the active backend; keep what was active.
    if (before && tf.engine().backendName !== before) void tf.setBackend(before);
  }
  return ready.has("tensorflow");
}

/** Whether the native TensorFlow backend loads here, and why not when it does not. */
export function nativeStatus(): { readonly available: boolean; readonly error: string | null } {
  return { available: loadNative(), error: nativeError };
}

function wasmAvailable(): boolean {
  try {
    require.resolve("@tensorflow/tfjs-backend-wasm");
    return typeof (globalThis as { WebAssembly?: unknown }).WebAssembly === "object";
  } catch {
    return false;
  }
}

/** The device "auto" means on this machine (no initialisation beyond loading tfjs-node). */
export function preferredDevice(): TfjsDevice {
  if (loadNative()) return "tensorflow";
  return wasmAvailable() ? "wasm" : "cpu";
}

/** Devices that can run here, best first. */
export function availableDevices(): TfjsDevice[] {
  return [...(loadNative() ? (["tensorflow"] as const) : []), ...(wasmAvailable() ? (["wasm"] as const) : []), "cpu"];
}

/** Initialises a device (the wasm backend compiles its module asynchronously). */
export function initDevice(device: TfjsDevice): Promise<boolean> {
  const tf = tfjs();
  if (ready.has(device)) return Promise.resolve(true);
  if (device === "tensorflow") return Promise.resolve(loadNative());
  let p = pending.get(device);
  if (p === undefined) {
    p = (async () => {
      const before = tf.engine().backendName;
      require("@tensorflow/tfjs-backend-wasm");
      const ok = await tf.setBackend("wasm");
      if (before) await tf.setBackend(before);
      if (ok) ready.add(device);
      return ok;
    })().catch(() => false);
    pending.set(device, p);
  }
  return p;
}

/**
 * The device a preference means now, synchronously: "auto" is the best device ready on this
 * thread (wasm only after `await tfjsReady()`); a named device must be ready.
 */
export function readyDevice(preference: TfjsDevicePreference): TfjsDevice {
  tfjs();
  if (preference === "auto") return loadNative() ? "tensorflow" : ready.has("wasm") ? "wasm" : "cpu";
  if (preference === "tensorflow" && !loadNative()) {
    throw new Error(`tfjs device "tensorflow" is not available (install @tensorflow/tfjs-node): ${nativeError}`);
  }
  if (!ready.has(preference)) throw new Error(`tfjs device "${preference}" is not initialised on this thread: await tfjsReady("${preference}") first`);
  return preference;
}

/**
 * Makes a preference ready and returns the device to use: await this before compiling with
 * the tfjs backend on a thread where wasm should be used (workers do it themselves).
 */
export async function tfjsReady(preference: TfjsDevicePreference = "auto"): Promise<TfjsDevice> {
  tfjs();
  const want = preference === "auto" ? preferredDevice() : preference;
  if (await initDevice(want)) return want;
  if (preference !== "auto") throw new Error(`tfjs device "${want}" could not be initialised`);
  return readyDevice("cpu");
}

/** Makes `device` the active backend of this thread (cheap when it already is). */
export function activate(device: TfjsDevice): void {
  const tf = tfjs();
  if (tf.engine().backendName !== device) {
    // Synchronous for an initialised backend: the promise only reports the result.
    void tf.setBackend(device);
    if (tf.engine().backendName !== device) throw new Error(`tfjs device ${device} is not ready on this thread`);
  }
}
