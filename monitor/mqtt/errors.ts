// One error class for the MQTT transport (DESIGN.md "Errors"): tests assert `code`, not the message.

export type MqttErrorCode =
  | 'BAD_OPTIONS' // client options failed validation
  | 'BAD_TOPIC' // an id or topic that cannot be used in Vigil's topic tree
  | 'CONNECT_FAILED' // the broker refused the connection (CONNACK error) or the socket failed
  | 'PROTOCOL_FALLBACK' // the broker refused MQTT 5; the client retries with 3.1.1 (informational)
  | 'SUBSCRIBE_FAILED' // SUBACK refused a subscription
  | 'PUBLISH_REJECTED' // an MQTT 5 PUBACK carried a failure reason; the entry stays in the outbox
  | 'COMMAND_TOO_LARGE' // an inbound command above `maxCommandBytes`: dropped, never handed over
  | 'COMMAND_HANDLER_FAILED' // the injected onCommand threw or rejected
  | 'UPDATE_TOO_LARGE' // an inbound update message above `maxUpdateMessageBytes`
  | 'UPDATE_HANDLER_FAILED' // the injected onUpdate threw or rejected
  | 'PACKET_REFUSED' // an inbound packet the guard cannot bound (oversized non-PUBLISH, malformed): connection closed
  | 'OUTBOX_FAILED' // reading or acknowledging the outbox failed
  | 'STOPPED'; // used after stop()

export class MqttError extends Error {
  constructor(
    readonly code: MqttErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MqttError';
  }
}
