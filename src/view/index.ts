/** The view floor: what a person sees of a run (terminal progress, live dashboard, static report). */
export { sample, sampleEffect, sampleRunEffect, type ViewedRun } from "./run.js";
export { showProgress, type ProgressDisplay, type ProgressDisplayOptions } from "./progress/terminal.js";
export { renderProgress, renderPlainLine, type RenderOptions } from "./progress/render.js";
export { ProgressModel, type ProgressFrame, type ChainLine } from "./progress/model.js";
export { serveDashboard, type Dashboard, type DashboardOptions } from "./dashboard/server.js";
export { writeReport, reportHtml, type ReportOptions } from "./report.js";
