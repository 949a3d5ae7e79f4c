/**
 * Errors of label and field selector parsing and validation. Messages are worded as upstream's
 * apimachinery words them, so the API server can answer `400 BadRequest` with the same text.
 */

export type SelectorErrorCode =
  | 'InvalidLabelSelector'
  | 'InvalidFieldSelector'
  | 'FieldLabelNotSupported'
  | 'InvalidLabelSelectorOperator';

/** A label or field selector that does not parse, or names something unsupported. */
export class SelectorParseError extends Error {
  readonly code: SelectorErrorCode;
  /** The selector text (or JSON of the selector object) that failed. */
  readonly selector: string;
  constructor(code: SelectorErrorCode, message: string, selector: string) {
    super(message);
    this.name = 'SelectorParseError';
    this.code = code;
    this.selector = selector;
  }
}
