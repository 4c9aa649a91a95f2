// Terminal narration of a fleet run: one line per thing that happens, stamped with scenario time, and
// a progress bar on a terminal (cli-progress, lines printed above it); plain lines with a periodic
// progress line when the output is a log (headless, CI).
import cliProgress from 'cli-progress';
import type { Narrator } from '../../simulator/fleet/index.ts';

export interface DemoNarrator extends Narrator {
  /** Scenario time zero (wall ms); lines before it are stamped `setup`. */
  setStart(t0Ms: number): void;
  stop(): void;
}

export function createNarrator(options: {
  readonly out: (line: string) => void;
  readonly progressBar: boolean;
  readonly now?: () => number;
}): DemoNarrator {
  const now = options.now ?? Date.now;
  let t0: number | null = null;
  let lastPlainProgress = -1;
  const stamp = () => (t0 === null ? ' setup ' : `${((now() - t0) / 1000).toFixed(0).padStart(5)} s`);
  let multibar: cliProgress.MultiBar | null = null;
  let bar: cliProgress.SingleBar | null = null;
  const print = (line: string) => {
    if (multibar !== null) multibar.log(`${line}\n`);
    else options.out(line);
  };
  return {
    setStart(t0Ms) {
      t0 = t0Ms;
    },
    say(line) {
      print(`[${stamp()}] ${line}`);
    },
    progress(scenarioS, durationS) {
      if (options.progressBar) {
        if (multibar === null) {
          multibar = new cliProgress.MultiBar(
            {
              format: '  scenario {bar} {value}/{total} s',
              hideCursor: true,
              clearOnComplete: false,
              stopOnComplete: false,
            },
            cliProgress.Presets.shades_classic,
          );
          bar = multibar.create(Math.round(durationS), 0);
        }
        bar?.update(Math.round(scenarioS));
        return;
      }
      const step = Math.floor(scenarioS / 30);
      if (step > lastPlainProgress) {
        lastPlainProgress = step;
        options.out(`[${stamp()}] … ${Math.round(scenarioS)}/${Math.round(durationS)} s of the scenario`);
      }
    },
    stop() {
      multibar?.stop();
      multibar = null;
      bar = null;
    },
  };
}
