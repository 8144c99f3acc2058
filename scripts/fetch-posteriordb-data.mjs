// Fetches the posteriordb data sets that are not vendored in test/stan/posteriordb/data/
// (data_vendored: false in manifest.json; posteriordb's own git does not hold them: mnist).
//
//   node scripts/fetch-posteriordb-data.mjs [url-prefix]
//
// Tries <url-prefix>/<data>.json.zip (default: posteriordb's data folder on GitHub) and writes
// test/stan/posteriordb/data/<data>.json.gz. Exits 1 naming each data set it could not get and why.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { gzipSync, inflateRawSync } from "node:zlib";

const prefix =
  process.argv[2] ?? "https://raw.githubusercontent.com/stan-dev/posteriordb/master/posterior_database/data/data";
const dir = "test/stan/posteriordb";
const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8"));
const wanted = [...new Set(manifest.posteriors.filter((p) => !p.data_vendored).map((p) => p.data))];
const failures = [];
for (const name of wanted) {
  const target = `${dir}/data/${name}.json.gz`;
  if (existsSync(target)) continue;
  const url = `${prefix}/${name}.json.zip`;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const zip = Buffer.from(await res.arrayBuffer());
    if (zip.readUInt32LE(0) !== 0x04034b50) throw new Error("the answer is not a zip archive (a Git LFS pointer?)");
    const method = zip.readUInt16LE(8);
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const cd = zip.readUInt32LE(eocd + 16);
    const start = 30 + zip.readUInt16LE(26) + zip.readUInt16LE(28);
    const body = zip.subarray(start, start + zip.readUInt32LE(cd + 20));
    const json = method === 8 ? inflateRawSync(body) : body;
    JSON.parse(json.toString());
    writeFileSync(target, gzipSync(json, { level: 9 }));
    console.log(`${name}: fetched from ${url}`);
  } catch (e) {
    failures.push(`${name}: could not fetch ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
if (failures.length > 0) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(wanted.length === 0 ? "every data set is vendored" : "done");
