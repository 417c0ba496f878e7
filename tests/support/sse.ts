/** One Server-Sent Events message as a client sees it; `comment` for lines starting with ":". */
export interface SseMessage {
  event?: string;
  id?: string;
  data?: string;
  retry?: string;
  comments: string[];
}

/** Reads a text/event-stream response message by message, as EventSource parses it. */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = "";

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  /** The next message (a comment-only block counts), or undefined at the end of the stream or after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<SseMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return parseBlock(block);
      }
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      const chunk = await Promise.race([this.reader.read(), Bun.sleep(left).then(() => "timeout" as const)]);
      if (chunk === "timeout") return undefined;
      if (chunk.done) return undefined;
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** Messages carrying data (events, dropped, end) until `count` of them arrived or `timeoutMs` passed. */
  async collect(count: number, timeoutMs = 5000): Promise<SseMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const out: SseMessage[] = [];
    while (out.length < count) {
      const message = await this.next(Math.max(1, deadline - Date.now()));
      if (!message) break;
      if (message.data !== undefined) out.push(message);
    }
    return out;
  }

  async close() {
    await this.reader.cancel().catch(() => {});
  }
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = { comments: [] };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      message.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") message.data = message.data === undefined ? value : `${message.data}\n${value}`;
    else if (field === "event" || field === "id" || field === "retry") message[field] = value;
  }
  return message;
}
