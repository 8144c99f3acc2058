/** Types of pages.mjs (the guide's page list). */
export interface GuidePage {
  /** Relative to docs/. */
  readonly file: string;
  readonly title: string;
  /** Being written elsewhere (what brings it): listed without a link until it lands. */
  readonly pending?: string;
}
export declare const guidePages: readonly GuidePage[];
