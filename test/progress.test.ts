import { Writable } from 'node:stream';
import test from 'ava';
import { terminalProgress } from '../pipeline/progress.ts';

function terminal(): { stream: NodeJS.WriteStream; output: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { columns: 40, isTTY: false });
  return { stream, output: () => text };
}

test("a phase (a bulk export's X-Progress) is shown on one line rewritten in place, cut to the terminal's width", (t) => {
  const { stream, output } = terminal();
  const progress = terminalProgress(stream);
  progress.phase('export 7 being prepared: 10% of Patient done');
  progress.phase('export 7 being prepared: 55% of Patient done, and a very long tail of text');
  t.is(output().split('\r\x1b[2K').length, 3, 'each phase rewrites the same line');
  t.true(output().includes(' export 7 being prepared: 10% of Patien'));
  t.false(output().includes('very long tail'), 'cut to the terminal width');
  progress.start(1, 100);
  progress.stop();
  t.true(output().includes('\n'), 'the phase line is closed before the bar takes over');
});
