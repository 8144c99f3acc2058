/** Types of decisions-index.mjs (DECISIONS.md's generated index), for the test that checks it. */
export interface Entry {
  readonly number: number;
  readonly title: string;
}
export interface Reference {
  readonly target: number;
  readonly kind: "superseded" | "amended" | "extended";
  readonly partial: boolean;
}
export declare const BEGIN: string;
export declare const END: string;
export declare function entries(text: string): Entry[];
export declare function references(title: string): Reference[];
export declare function statuses(list: readonly Entry[]): Map<number, string>;
export declare function anchor(heading: string): string;
export declare function indexBlock(text: string): string;
export declare function withIndex(text: string): string;
