/** The abstract syntax of a Stan program, as the parser produces it. */
import type { Location } from "./errors.js";

export type BaseType = "int" | "real" | "complex" | "vector" | "row_vector" | "matrix";

/** A variable's constraint: bounds, affine, or one of Stan's constrained types. */
export type Constraint =
  | { readonly kind: "none" }
  | { readonly kind: "bounds"; readonly lower?: Expr; readonly upper?: Expr }
  | { readonly kind: "affine"; readonly offset?: Expr; readonly multiplier?: Expr }
  | {
      readonly kind: "simplex" | "unit_vector" | "sum_to_zero_vector" | "ordered" | "positive_ordered" | "cholesky_factor_corr" | "cholesky_factor_cov" | "corr_matrix" | "cov_matrix";
    };

/** A sized type in a declaration: `array[N] vector<lower=0>[K]`. */
export interface SizedType {
  readonly base: BaseType;
  readonly constraint: Constraint;
  /** The sizes of the base type: [] scalar, [n] vector, [r, c] matrix. */
  readonly sizes: readonly Expr[];
  /** The array dimensions, outermost first. */
  readonly arrayDims: readonly Expr[];
  readonly loc: Location;
}

/** An unsized type (function arguments and returns): `array[,] real`, `vector`, `void`. */
export interface UnsizedType {
  readonly base: BaseType | "void";
  readonly arrayDims: number;
  readonly dataOnly: boolean;
}

export type Expr =
  | { readonly kind: "int"; readonly value: number; readonly loc: Location }
  | { readonly kind: "real"; readonly value: number; readonly loc: Location }
  | { readonly kind: "string"; readonly value: string; readonly loc: Location }
  | { readonly kind: "var"; readonly name: string; readonly loc: Location }
  | { readonly kind: "binary"; readonly op: string; readonly left: Expr; readonly right: Expr; readonly loc: Location }
  | { readonly kind: "unary"; readonly op: string; readonly arg: Expr; readonly loc: Location }
  | { readonly kind: "transpose"; readonly arg: Expr; readonly loc: Location }
  | { readonly kind: "cond"; readonly test: Expr; readonly then: Expr; readonly else: Expr; readonly loc: Location }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly Expr[]; readonly conditional: boolean; readonly loc: Location }
  | { readonly kind: "index"; readonly target: Expr; readonly indices: readonly Index[]; readonly loc: Location }
  | { readonly kind: "array"; readonly items: readonly Expr[]; readonly loc: Location }
  | { readonly kind: "rowvector"; readonly items: readonly Expr[]; readonly loc: Location };

export type Index =
  | { readonly kind: "single"; readonly expr: Expr }
  | { readonly kind: "all" }
  | { readonly kind: "range"; readonly lower?: Expr; readonly upper?: Expr };

export interface VarDecl {
  readonly kind: "decl";
  readonly name: string;
  readonly type: SizedType;
  readonly init?: Expr;
  readonly loc: Location;
}

export type Stmt =
  | VarDecl
  | { readonly kind: "assign"; readonly name: string; readonly indices: readonly Index[]; readonly op: string; readonly value: Expr; readonly loc: Location }
  | { readonly kind: "tilde"; readonly lhs: Expr; readonly dist: string; readonly args: readonly Expr[]; readonly truncation?: { lower?: Expr; upper?: Expr }; readonly loc: Location }
  | { readonly kind: "target"; readonly value: Expr; readonly loc: Location }
  | { readonly kind: "for"; readonly variable: string; readonly lower: Expr; readonly upper: Expr; readonly body: Stmt; readonly loc: Location }
  | { readonly kind: "foreach"; readonly variable: string; readonly iterable: Expr; readonly body: Stmt; readonly loc: Location }
  | { readonly kind: "while"; readonly test: Expr; readonly body: Stmt; readonly loc: Location }
  | { readonly kind: "if"; readonly test: Expr; readonly then: Stmt; readonly else?: Stmt; readonly loc: Location }
  | { readonly kind: "block"; readonly body: readonly Stmt[]; readonly loc: Location }
  | { readonly kind: "break" | "continue"; readonly loc: Location }
  | { readonly kind: "return"; readonly value?: Expr; readonly loc: Location }
  | { readonly kind: "print" | "reject" | "fatal_error"; readonly args: readonly Expr[]; readonly loc: Location }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly Expr[]; readonly loc: Location }
  | { readonly kind: "empty"; readonly loc: Location };

export interface FunctionArg {
  readonly name: string;
  readonly type: UnsizedType;
}

export interface FunctionDef {
  readonly name: string;
  readonly returnType: UnsizedType;
  readonly args: readonly FunctionArg[];
  /** Absent for a forward declaration. */
  readonly body?: Stmt;
  readonly loc: Location;
}

export type BlockName = "functions" | "data" | "transformed data" | "parameters" | "transformed parameters" | "model" | "generated quantities";

export interface Program {
  readonly functions: readonly FunctionDef[];
  readonly data: readonly VarDecl[];
  readonly transformedData: readonly Stmt[];
  readonly parameters: readonly VarDecl[];
  readonly transformedParameters: readonly Stmt[];
  readonly model: readonly Stmt[];
  readonly generatedQuantities: readonly Stmt[];
  /** Warnings from parsing (old array syntax, deprecated forms). */
  readonly warnings: readonly { readonly message: string; readonly loc: Location }[];
}
