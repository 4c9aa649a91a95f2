// Child process for inbound-caps.test.ts: a device client alone in its process, so that its memory
// can be measured apart from the broker's and the sender's. Prints one JSON line per event:
// {"online":maxRss}, {"error":code,"message"}, {"rejected":{…}}, {"update":bytes,"maxRss":bytes}.
import { DeviceClient } from '../../../monitor/mqtt/index.ts';
import { Outbox } from '../../../monitor/outbox/index.ts';

const [url, maxUpdate, maxCommand] = process.argv.slice(2);
const say = (value: unknown) => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
const outbox = Outbox.open(':memory:');
const client = new DeviceClient(
  {
    url,
    fleet: 'f1',
    device: 'd1',
    maxUpdateMessageBytes: Number(maxUpdate),
    maxCommandBytes: Number(maxCommand),
  },
  {
    outbox,
    onError: (e) => {
      say({ error: e.code, message: e.message });
    },
    onCommandRejected: (r) => {
      say({ rejected: r });
    },
    onUpdate: (payload) => {
      say({ update: payload.length, maxRss: process.resourceUsage().maxRSS * 1024 });
    },
    onConnected: (info) => {
      say({ online: process.resourceUsage().maxRSS * 1024, protocol: info.protocol });
    },
  },
);
client.start();
process.on('SIGTERM', () => {
  void client.stop({ graceful: false }).then(() => process.exit(0));
});
