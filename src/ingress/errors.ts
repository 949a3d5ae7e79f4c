/** Errors of the ingress controller, each with a stable `code`. */

/** A bad option: port, class name, node name. */
export class IngressConfigError extends Error {
  readonly code = 'INGRESS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'IngressConfigError';
  }
}

/** An annotation value that cannot be used (the message names the annotation and the value). */
export class AnnotationError extends Error {
  readonly code = 'INGRESS_ANNOTATION';
  readonly annotation: string;
  constructor(annotation: string, message: string) {
    super(message);
    this.name = 'AnnotationError';
    this.annotation = annotation;
  }
}
