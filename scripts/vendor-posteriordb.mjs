// Vendors posteriordb's Stan programs, their data and the posterior list into
// test/stan/posteriordb/ from a git clone of https://github.com/stan-dev/posteriordb.
//
//   node scripts/vendor-posteriordb.mjs /path/to/posteriordb      # a clone (or bare git dir)
//
// Writes:
//   test/stan/posteriordb/LICENCE-posteriordb.md     posteriordb's BSD-3 licence
//   test/stan/posteriordb/manifest.json              one entry per posterior: name, model, data,
//                                                    keywords, dimensions, reference draws?
//   test/stan/posteriordb/models/<model>.stan        the program as posteriordb has it
//   test/stan/posteriordb/data/<data>.json.gz        the data (posteriordb zips it; gzip -9 here
//                                                    so Node's zlib and R's gzfile read it)
// Everything is vendored except data that posteriordb's own git lacks (mnist: data_vendored false
// in the manifest; scripts/fetch-posteriordb-data.mjs fetches it or fails saying why).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";

const repo = process.argv[2];
if (!repo) {
  console.error("usage: node scripts/vendor-posteriordb.mjs <posteriordb clone>");
  process.exit(2);
}
const out = "test/stan/posteriordb";
const git = (...args) => execFileSync("git", ["-C", repo, ...args], { maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"] });
const show = (path) => git("show", `HEAD:${path}`);
const ls = (dir) => git("ls-tree", "--name-only", "HEAD", `${dir}/`).toString().trim().split("\n").map((p) => p.slice(dir.length + 1));
const commit = git("rev-parse", "HEAD").toString().trim();

/** The single entry of a zip archive (posteriordb's data files hold one JSON each). */
function unzipSingle(buf) {
  if (buf.readUInt32LE(0) !== 0x04034b50) throw new Error("not a zip archive");
  const method = buf.readUInt16LE(8);
  const nameLen = buf.readUInt16LE(26);
  const extraLen = buf.readUInt16LE(28);
  // sizes may sit in a data descriptor: take them from the central directory
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const cd = buf.readUInt32LE(eocd + 16);
  const compSize = buf.readUInt32LE(cd + 20);
  const start = 30 + nameLen + extraLen;
  const body = buf.subarray(start, start + compSize);
  if (method === 0) return body;
  if (method === 8) return inflateRawSync(body);
  throw new Error(`zip method ${method}`);
}

const db = "posterior_database";
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "models"), { recursive: true });
mkdirSync(join(out, "data"), { recursive: true });
writeFileSync(join(out, "LICENCE-posteriordb.md"), show("LICENCE.md"));

const references = new Set(ls(`${db}/reference_posteriors/draws/draws`).map((f) => f.replace(/\.json\.zip$/, "")));
const manifest = [];
const models = new Map();
const datas = new Set();
const missing = new Set();
for (const file of ls(`${db}/posteriors`)) {
  const p = JSON.parse(show(`${db}/posteriors/${file}`).toString());
  const modelInfo = JSON.parse(show(`${db}/models/info/${p.model_name}.info.json`).toString());
  const stan = modelInfo.model_implementations?.stan;
  if (!stan) {
    console.log(`${p.name}: no Stan program, skipped`);
    continue;
  }
  const dataInfo = JSON.parse(show(`${db}/data/info/${p.data_name}.info.json`).toString());
  if (!models.has(p.model_name)) {
    const code = show(`${db}/${stan.model_code}`);
    writeFileSync(join(out, "models", `${p.model_name}.stan`), code);
    models.set(p.model_name, stan.stan_version ?? null);
  }
  let dataVendored = true;
  if (!datas.has(p.data_name) && !missing.has(p.data_name)) {
    let zip;
    try {
      zip = show(`${db}/${dataInfo.data_file}.zip`);
    } catch {
      // too large for posteriordb's own git (mnist): scripts/fetch-posteriordb-data.mjs gets it
      console.log(`${p.name}: data ${p.data_name} is not in posteriordb's git, not vendored`);
      missing.add(p.data_name);
    }
  }
  if (missing.has(p.data_name)) dataVendored = false;
  else if (!datas.has(p.data_name)) {
    const json = unzipSingle(show(`${db}/${dataInfo.data_file}.zip`));
    JSON.parse(json.toString()); // fail here, not in a test, if it is not JSON
    writeFileSync(join(out, "data", `${p.data_name}.json.gz`), gzipSync(json, { level: 9 }));
    datas.add(p.data_name);
  }
  manifest.push({
    posterior: p.name,
    model: p.model_name,
    data: p.data_name,
    keywords: p.keywords ?? [],
    dimensions: p.dimensions ?? {},
    data_vendored: dataVendored,
    reference_draws: references.has(p.name),
    stan_version: stan.stan_version ?? null,
  });
}
manifest.sort((a, b) => a.posterior.localeCompare(b.posterior));
writeFileSync(
  join(out, "manifest.json"),
  JSON.stringify({ source: "https://github.com/stan-dev/posteriordb", commit, posteriors: manifest }, null, 1) + "\n",
);
console.log(`${manifest.length} posteriors, ${models.size} programs, ${datas.size} data sets (posteriordb ${commit})`);
