/** A one-line progress bar on stderr (redrawn in place on a terminal, one line per 10 % otherwise). */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): (label: string, done: number, total: number) => void {
  let lastTenth = -1;
  return (label, done, total) => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round(frac * width);
      stream.write(`\r${label.padEnd(40).slice(0, 40)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`);
      if (frac >= 1) stream.write('\n');
      return;
    }
    const tenth = Math.floor(frac * 10);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      stream.write(`${label}: ${tenth * 10}%\n`);
    }
  };
}
