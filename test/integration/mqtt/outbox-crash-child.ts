// Child process for the outbox crash test: works the outbox as a device would (enqueue with
// eviction pressure, publish attempts, PUBACK deletes, age sweeps, birth sequences) until SIGKILLed.
// Every operation is announced before it starts (`intent …`) and reported after it committed, on
// stdout (synchronous for pipes on Linux), so the parent knows what is certain and what is in doubt.
// Usage: node --import tsx outbox-crash-child.ts <db file> <seed>
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { MESSAGE_CLASSES, Outbox } from '../../../monitor/outbox/index.ts';
import { CRASH_OUTBOX_OPTIONS, crashPayload } from './outbox-crash-shared.ts';

const [file, seedText] = process.argv.slice(2);
if (file === undefined || seedText === undefined) throw new Error('usage: outbox-crash-child.ts <db> <seed>');
const rng = xoroshiro128plus(Number(seedText) | 0);
const random = () => uniformFloat64(rng);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const say = (line: string) => process.stdout.write(`${line}\n`);

const outbox = Outbox.open(file, CRASH_OUTBOX_OPTIONS, { defer: () => undefined });
say('ready');
let cursor = 0;

function step(): void {
  const r = random();
  if (r < 0.55) {
    const n = 1 + Math.floor(random() * 4);
    const inputs = Array.from({ length: n }, () => {
      const cls = pick(MESSAGE_CLASSES);
      const size = 50 + Math.floor(random() * 1500);
      return { class: cls, topicSuffix: 'event', payload: (seq: number) => crashPayload(seq, size) };
    });
    say('intent enqueue');
    const results = outbox.enqueueMany(inputs);
    for (const res of results) {
      say(`E ${res.seq} ${res.stored ? 1 : 0} ${res.evicted.map((e) => e.seq).join(',')}`);
    }
    say('done');
  } else if (r < 0.9) {
    const batch = outbox.pending(cursor, 8);
    if (batch.length === 0) {
      cursor = 0;
      return;
    }
    outbox.markAttempt(batch.map((e) => e.seq));
    cursor = batch.at(-1)?.seq ?? cursor;
    const victim = pick(batch);
    say(`intent ack ${victim.seq}`);
    outbox.ack(victim.seq);
    outbox.flushAcks();
    say(`A ${victim.seq}`);
  } else if (r < 0.95) {
    say('intent birth');
    say(`B ${outbox.nextBirthSequence()}`);
  } else {
    say('intent sweep');
    const evicted = outbox.sweep();
    say(`S ${evicted.map((e) => e.seq).join(',')}`);
  }
}

// Run flat out, yielding to the event loop now and then so the parent's SIGKILL lands anywhere.
function loop(): void {
  for (let i = 0; i < 20; i += 1) step();
  setImmediate(loop);
}
loop();
