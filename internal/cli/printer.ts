import { toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { Output } from './cli-io.js';

/** `-o` values: readable tables, the API's JSON, or just ids (one per line). */
export const OUTPUT_FORMATS = ['table', 'json', 'id'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** How one result is shown in each output format. */
export interface View {
  /** The readable form (tables, fields), ending in a newline. */
  table: () => string;
  /** The ids of the objects shown, for `-o id`. */
  ids: () => string[];
}

/**
 * Writes command results to stdout in the chosen format. JSON is the protobuf JSON
 * mapping of the API message (lowerCamelCase, enums by name, the same as the REST
 * gateway's and Connect's), pretty-printed; streams print one compact document a line.
 */
export class Printer {
  constructor(
    readonly format: OutputFormat,
    private readonly out: Output,
  ) {}

  /** Prints `msg` (JSON), its ids, or its table view. */
  print<D extends DescMessage>(schema: D, msg: MessageShape<D>, view: View): void {
    if (this.format === 'json') this.out.write(`${JSON.stringify(toJson(schema, msg), null, 2)}\n`);
    else if (this.format === 'id') for (const id of view.ids()) this.out.write(`${id}\n`);
    else this.out.write(view.table());
  }

  /** One compact JSON document on one line (for watch streams in `-o json`). */
  jsonLine<D extends DescMessage>(schema: D, msg: MessageShape<D>): void {
    this.out.write(`${JSON.stringify(toJson(schema, msg))}\n`);
  }

  /** Raw text, as is. */
  text(s: string): void {
    this.out.write(s);
  }
}
