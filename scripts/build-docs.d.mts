/** Types of build-docs.mjs, for the test that checks the page list and the contents. */
import type { GuidePage } from "../docs/pages.mjs";
export declare const ROOT: string;
export declare const BEGIN: string;
export declare const END: string;
export declare function pageProblems(root?: string, pages?: readonly GuidePage[]): string[];
export declare function contentsBlock(base: string, pages?: readonly GuidePage[]): string;
export declare function withContents(text: string, base: string, where: string, pages?: readonly GuidePage[]): string;
export declare const CONTENTS_FILES: readonly { readonly path: string; readonly base: string }[];
