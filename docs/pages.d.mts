/** Types of pages.mjs (the guide's page list). */
export interface GuidePage {
  /** Relative to docs/. */
  readonly file: string;
  readonly title: string;
}
export declare const guidePages: readonly GuidePage[];
