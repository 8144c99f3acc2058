/** Reading and writing draws in other tools' formats. */
export {
  STAN_CSV_SAMPLER_COLUMNS,
  formatStanCsv,
  formatStanNumber,
  parseStanCsv,
  parseStanNumber,
  stanCsvColumns,
  stanFlatName,
  writeStanCsv,
  type StanCsv,
  type StanCsvOptions,
} from "./stan-csv.js";
export {
  inferenceData,
  writeInferenceData,
  type InferenceDataOptions,
  type DrawsGroup,
  type DrawsArray,
  type GroupVariable,
  type ShapedDraws,
  type IdGroup,
  type IdVariable,
} from "./inference-data.js";
