const LT = 0x3c;
const GT = 0x3e;
const BANG = 0x21;
const QUESTION = 0x3f;
const DASH = 0x2d;
const BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const State = { text: 0, open: 1, bang: 2, tag: 3, special: 4 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Watches XML bytes for the longest piece an XML parser has to hold whole: a run of text (a cell's
 * value), a tag with its attributes, a comment, a CDATA section or a processing instruction. The parser
 * under exceljs (saxes) and exceljs itself build each of them as one string, so one 200 MB `<v>` is
 * 200 MB of heap, twice. `write` returns false as soon as a piece grows past `maxBytes`.
 *
 * Text and tags are found with indexOf, so the cost is a few comparisons per tag; only comments, CDATA
 * and processing instructions, which Excel never writes inside its parts, are scanned byte by byte for
 * their end (`-->`, `]]>`, `?>`): a `>` inside them does not end them.
 */
export class XmlTokenScanner {
  private readonly maxBytes: number;
  private state: State = State.text;
  private length = 0;
  /** For comments, CDATA and processing instructions: the bytes that must precede their `>`. */
  private closer: readonly number[] = [];
  private last = 0;
  private beforeLast = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  write(chunk: Uint8Array): boolean {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case State.text: {
          const lt = chunk.indexOf(LT, at);
          if (lt === -1) return this.grow(chunk.length - at);
          if (!this.grow(lt - at)) return false;
          this.begin(State.open);
          at = lt + 1;
          continue;
        }
        case State.open: {
          const byte = chunk[at]!;
          if (byte === BANG) this.state = State.bang;
          else if (byte === QUESTION) this.special([QUESTION]);
          else this.state = State.tag;
          break;
        }
        case State.bang: {
          const byte = chunk[at]!;
          // <!-- … --> and <![CDATA[ … ]]>; anything else (<!DOCTYPE …>) ends at its first >.
          if (byte === DASH) this.special([DASH, DASH]);
          else if (byte === BRACKET) this.special([CLOSE_BRACKET, CLOSE_BRACKET]);
          else this.state = State.tag;
          break;
        }
        case State.tag: {
          const gt = chunk.indexOf(GT, at);
          if (gt === -1) return this.grow(chunk.length - at);
          if (!this.grow(gt + 1 - at)) return false;
          this.begin(State.text);
          at = gt + 1;
          continue;
        }
        case State.special: {
          const byte = chunk[at]!;
          if (!this.grow(1)) return false;
          if (byte === GT && this.closes()) {
            this.begin(State.text);
          } else {
            this.beforeLast = this.last;
            this.last = byte;
          }
          at++;
          continue;
        }
      }
      // The states that look at one byte (open, bang) consume it here.
      if (!this.grow(1)) return false;
      at++;
    }
    return true;
  }

  private begin(state: State): void {
    this.state = state;
    this.length = 0;
  }

  private closes(): boolean {
    const [first, second] = this.closer;
    return second === undefined ? this.last === first : this.beforeLast === first && this.last === second;
  }

  private special(closer: readonly number[]): void {
    this.state = State.special;
    this.closer = closer;
    // The opening's own bytes (<!-- or <?) must not close it: <!--> is not a whole comment.
    this.last = 0;
    this.beforeLast = 0;
  }

  private grow(bytes: number): boolean {
    this.length += bytes;
    return this.length <= this.maxBytes;
  }
}
