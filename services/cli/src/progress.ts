/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every few seconds
 * otherwise (logs and CI). Never writes to stdout, which carries the commands' data.
 */
export interface Progress {
  update(done: number, total?: number, note?: string): void;
  finish(note?: string): void;
}

export function progress(label: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let last = 0;
  let lastTotal = total;
  const render = (done: number, note: string | undefined): string => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    if (lastTotal === undefined || lastTotal <= 0) return `${label} ${done} (${rate}/s)${note ? ` ${note}` : ''}`;
    const ratio = Math.min(1, done / lastTotal);
    const width = 30;
    const filled = Math.round(ratio * width);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${lastTotal} ${(ratio * 100).toFixed(0)}% (${rate}/s)${note ? ` ${note}` : ''}`;
  };
  return {
    update(done, newTotal, note) {
      if (newTotal !== undefined) lastTotal = newTotal;
      const now = Date.now();
      if (stream.isTTY) {
        if (now - last < 100) return;
        stream.write(`\r\u001b[2K${render(done, note)}`);
      } else {
        if (now - last < 5000) return;
        stream.write(`${render(done, note)}\n`);
      }
      last = now;
    },
    finish(note) {
      const text = `${label} done in ${((Date.now() - started) / 1000).toFixed(1)} s${note ? `: ${note}` : ''}`;
      stream.write(stream.isTTY ? `\r\u001b[2K${text}\n` : `${text}\n`);
    },
  };
}
