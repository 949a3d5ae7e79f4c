/**
 * Label selectors: the string form of `?labelSelector=` (`a=b,c!=d,e in (x,y),!f,g>3`) and
 * metav1.LabelSelector objects (matchLabels + matchExpressions), compiled to one list of
 * requirements that all must hold. Parsing, validation and messages follow apimachinery's
 * `labels` package: requirements are sorted by key, `in`/`notin` values form a set.
 */

import type { LabelSelector as MetaLabelSelector } from 'kubernetes-types/meta/v1.js';
import {
  type FieldError,
  fieldErrorMessage,
  formatGoValue,
  GoValue,
  invalid as invalidField,
} from '../field-error.js';
import { SelectorParseError } from './errors.js';
import { labelValueErrors, qualifiedNameErrors } from './label-syntax.js';

/** Requirement operators, spelled as upstream's `selection.Operator`. */
export type SelectorOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: SelectorOperator;
  /** Exactly one for `=`/`==`/`!=`/`gt`/`lt`, at least one for `in`/`notin`, none for `exists`/`!`. */
  values: readonly string[];
}

/** A compiled selector: the conjunction of `requirements`; `nothing` matches no object at all. */
export interface LabelSelector {
  readonly requirements: readonly Requirement[];
  /** Set for a null metav1 selector, which matches nothing (upstream's `labels.Nothing()`). */
  readonly nothing?: true;
}

export type Labels = Readonly<Record<string, string>> | undefined | null;

/** The selector that matches everything. */
export const EVERYTHING: LabelSelector = { requirements: [] };
/** The selector that matches nothing. */
export const NOTHING: LabelSelector = { requirements: [], nothing: true };

// ---------------------------------------------------------------------------------------------
// Lexer

type Tok = 'ident' | 'eos' | 'error' | ',' | '!' | '=' | '==' | '!=' | '(' | ')' | '>' | '<' | 'in' | 'notin';

interface Token {
  tok: Tok;
  lit: string;
}

const SYMBOLS = new Map<string, Tok>([
  [',', ','],
  ['!', '!'],
  ['=', '='],
  ['==', '=='],
  ['!=', '!='],
  ['(', '('],
  [')', ')'],
  ['>', '>'],
  ['<', '<'],
]);
const KEYWORDS = new Map<string, Tok>([
  ['in', 'in'],
  ['notin', 'notin'],
]);

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecial(ch: string): boolean {
  return '=!(),><'.includes(ch);
}

function lex(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] as string;
    if (isWhitespace(ch)) {
      i++;
      continue;
    }
    if (isSpecial(ch)) {
      // Longest run of symbol characters that still names a token (`!=` over `!`).
      let buf = '';
      let last: Token | undefined;
      while (i < input.length && isSpecial(input[i] as string)) {
        buf += input[i];
        const t = SYMBOLS.get(buf);
        if (t !== undefined) last = { tok: t, lit: buf };
        else if (last !== undefined) break;
        i++;
      }
      out.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
      continue;
    }
    let j = i;
    while (j < input.length && !isWhitespace(input[j] as string) && !isSpecial(input[j] as string)) j++;
    const word = input.slice(i, j);
    out.push({ tok: KEYWORDS.get(word) ?? 'ident', lit: word });
    i = j;
  }
  out.push({ tok: 'eos', lit: '' });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
  readonly #toks: Token[];
  #pos = 0;
  constructor(input: string) {
    this.#toks = lex(input);
  }

  /** In a value position `in`/`notin` are plain identifiers. */
  #view(t: Token, values: boolean): Token {
    return values && (t.tok === 'in' || t.tok === 'notin') ? { tok: 'ident', lit: t.lit } : t;
  }

  peek(values = true): Token {
    const t = this.#toks[this.#pos] ?? { tok: 'eos', lit: '' };
    return this.#view(t, values);
  }

  next(values = true): Token {
    const t = this.peek(values);
    if (this.#pos < this.#toks.length - 1) this.#pos++;
    return t;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const t = this.peek();
      if (t.tok === 'eos') return reqs;
      if (t.tok !== 'ident' && t.tok !== '!') {
        throw new Error(`found '${t.lit}', expected: !, identifier, or 'end of string'`);
      }
      try {
        reqs.push(this.requirement());
      } catch (e) {
        throw new Error(`unable to parse requirement: ${(e as Error).message}`);
      }
      const sep = this.next();
      if (sep.tok === 'eos') return reqs;
      if (sep.tok !== ',') throw new Error(`found '${sep.lit}', expected: ',' or 'end of string'`);
      const after = this.peek();
      if (after.tok !== 'ident' && after.tok !== '!') {
        throw new Error(`found '${after.lit}', expected: identifier after ','`);
      }
    }
  }

  requirement(): Requirement {
    let t = this.next();
    let negated = false;
    if (t.tok === '!') {
      negated = true;
      t = this.next();
    }
    if (t.tok !== 'ident') throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyErrs = qualifiedNameErrors(key);
    if (keyErrs.length > 0)
      throw new Error(`<nil>: Invalid value: ${formatGoValue(key)}: ${keyErrs.join('; ')}`);
    const la = this.peek().tok;
    if (negated) return checked(key, '!', []);
    if (la === 'eos' || la === ',') return checked(key, 'exists', []);
    const op = this.operator();
    const values = op === 'in' || op === 'notin' ? this.valueSet() : this.exactValue();
    return checked(key, op, values);
  }

  operator(): SelectorOperator {
    const t = this.next(false);
    switch (t.tok) {
      case 'in':
      case 'notin':
      case '=':
      case '==':
      case '!=':
        return t.tok;
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      default:
        throw new Error(`found '${t.lit}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const la = this.peek();
    if (la.tok === ')') {
      this.next();
      return [''];
    }
    if (la.tok !== 'ident' && la.tok !== ',') {
      throw new Error(`found '${la.lit}', expected: ',', ')' or identifier`);
    }
    const set = this.identifierList();
    const close = this.next();
    if (close.tok !== ')') throw new Error(`found '${la.lit}', expected: ')'`);
    return [...set].sort();
  }

  identifierList(): Set<string> {
    const set = new Set<string>();
    for (;;) {
      const t = this.next();
      if (t.tok === 'ident') {
        set.add(t.lit);
        const la = this.peek();
        if (la.tok === ',') continue;
        if (la.tok === ')') return set;
        throw new Error(`found '${la.lit}', expected: ',' or ')'`);
      }
      if (t.tok === ',') {
        // `(,a)`, `(a,,b)` and `(a,)` name the empty value.
        if (set.size === 0) set.add('');
        const la = this.peek();
        if (la.tok === ')') {
          set.add('');
          return set;
        }
        if (la.tok === ',') {
          this.next();
          set.add('');
        }
        continue;
      }
      throw new Error(`found '${t.lit}', expected: ',', or identifier`);
    }
  }

  exactValue(): string[] {
    const la = this.peek();
    if (la.tok === 'eos' || la.tok === ',') return [''];
    const t = this.next();
    if (t.tok === 'ident') return [t.lit];
    throw new Error(`found '${t.lit}', expected: identifier`);
  }
}

const BINARY_OPERATORS = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

/** Upstream's NewRequirement checks; the message joins field errors like an aggregate. */
function requirementErrors(key: string, op: SelectorOperator, values: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  const keyErrs = qualifiedNameErrors(key);
  if (keyErrs.length > 0) errs.push(invalidField('key', key, keyErrs.join('; ')));
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0) {
        errs.push(
          invalidField(
            'values',
            new GoValue('[]string(nil)'),
            "for 'in', 'notin' operators, values set can't be empty",
          ),
        );
      }
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) {
        errs.push(invalidField('values', values, 'exact-match compatibility requires one single value'));
      }
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) {
        errs.push(invalidField('values', values, 'values set must be empty for exists and does not exist'));
      }
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) {
        errs.push(invalidField('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(
            invalidField(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"),
          );
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const vErrs = labelValueErrors(v);
    if (vErrs.length > 0) errs.push(invalidField(`values[${i}][${key}]`, v, vErrs.join('; ')));
  });
  return errs;
}

function aggregate(errs: readonly FieldError[]): string {
  if (errs.length === 1) return fieldErrorMessage(errs[0]!);
  return `[${errs.map(fieldErrorMessage).join(', ')}]`;
}

function checked(key: string, operator: SelectorOperator, values: string[]): Requirement {
  const errs = requirementErrors(key, operator, values);
  if (errs.length > 0) throw new Error(aggregate(errs));
  return { key, operator, values };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64): undefined when not a base-10 int64. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function sortByKey(reqs: Requirement[]): Requirement[] {
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Parse the string form of a label selector. The empty string selects everything. Throws
 * SelectorParseError (`InvalidLabelSelector`) with upstream's message.
 */
export function parseLabelSelector(text: string): LabelSelector {
  try {
    return { requirements: sortByKey(new Parser(text).parse()) };
  } catch (e) {
    throw new SelectorParseError('InvalidLabelSelector', (e as Error).message, text);
  }
}

const META_OPS: Record<string, SelectorOperator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * Compile a metav1.LabelSelector. null/undefined selects nothing; an empty object selects
 * everything (upstream's LabelSelectorAsSelector).
 */
export function labelSelectorFromObject(sel: MetaLabelSelector | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) return NOTHING;
  const matchLabels = sel.matchLabels ?? {};
  const exprs = sel.matchExpressions ?? [];
  const reqs: Requirement[] = [];
  const fail = (message: string): never => {
    throw new SelectorParseError('InvalidLabelSelector', message, JSON.stringify(sel));
  };
  for (const k of Object.keys(matchLabels).sort()) {
    const values = [matchLabels[k] as string];
    const errs = requirementErrors(k, '=', values);
    if (errs.length > 0) fail(aggregate(errs));
    reqs.push({ key: k, operator: '=', values });
  }
  for (const expr of exprs) {
    const op = Object.hasOwn(META_OPS, expr.operator) ? META_OPS[expr.operator] : undefined;
    if (op === undefined) {
      throw new SelectorParseError(
        'InvalidLabelSelectorOperator',
        `"${expr.operator}" is not a valid label selector operator`,
        JSON.stringify(sel),
      );
    }
    const values = [...(expr.values ?? [])];
    const errs = requirementErrors(expr.key, op, values);
    if (errs.length > 0) fail(aggregate(errs));
    reqs.push({ key: expr.key, operator: op, values });
  }
  return { requirements: sortByKey(reqs) };
}

/** Whether one requirement holds for `labels`. */
export function requirementMatches(req: Requirement, labels: Labels): boolean {
  const has = labels !== null && labels !== undefined && Object.hasOwn(labels, req.key);
  const value = has ? (labels[req.key] as string) : undefined;
  switch (req.operator) {
    case '=':
    case '==':
    case 'in':
      return value !== undefined && req.values.includes(value);
    case '!=':
    case 'notin':
      return value === undefined || !req.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (value === undefined || req.values.length !== 1) return false;
      const have = parseInt64(value);
      const want = parseInt64(req.values[0] as string);
      if (have === undefined || want === undefined) return false;
      return req.operator === 'gt' ? have > want : have < want;
    }
  }
}

/** Whether `labels` satisfy every requirement of `selector`. */
export function labelsMatch(selector: LabelSelector, labels: Labels): boolean {
  if (selector.nothing) return false;
  return selector.requirements.every((r) => requirementMatches(r, labels));
}

/** True when the selector has no requirements and selects everything. */
export function isEverything(selector: LabelSelector): boolean {
  return !selector.nothing && selector.requirements.length === 0;
}

/** The string form of one requirement (`a in (x,y)`, `!b`, `c>3`). */
export function requirementToString(req: Requirement): string {
  switch (req.operator) {
    case 'exists':
      return req.key;
    case '!':
      return `!${req.key}`;
    case 'in':
    case 'notin':
      return `${req.key} ${req.operator} (${[...req.values].sort().join(',')})`;
    case 'gt':
      return `${req.key}>${req.values[0] ?? ''}`;
    case 'lt':
      return `${req.key}<${req.values[0] ?? ''}`;
    default:
      return `${req.key}${req.operator}${req.values[0] ?? ''}`;
  }
}

/** The string form of a selector; parses back to the same requirements. */
export function labelSelectorToString(selector: LabelSelector): string {
  return selector.requirements.map(requirementToString).join(',');
}
