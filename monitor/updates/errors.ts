// One error class for update transfers over MQTT (DESIGN.md "Errors"): every rejection a device
// reports on its update/status topic carries one of these codes; tests assert the code.

export type UpdateErrorCode =
  | 'BAD_OPTIONS' // receiver or sender options failed validation
  | 'MANIFEST_TOO_LARGE' // manifest message above maxManifestBytes (checked before parsing)
  | 'MANIFEST_MALFORMED' // wrong magic/version/lengths, inconsistent chunk count, bad text
  | 'TRANSFER_TOO_LARGE' // declared total size above maxTransferBytes
  | 'CHUNK_TOO_LARGE' // declared chunk size above maxChunkBytes
  | 'TOO_MANY_TRANSFERS' // more concurrent transfers than maxActiveTransfers
  | 'CHUNK_MALFORMED' // wrong magic/version/header length, or a chunk for another transfer
  | 'CHUNK_OUT_OF_RANGE' // index not below the manifest's chunk count
  | 'CHUNK_SIZE_MISMATCH' // data length differs from what the manifest implies for that index
  | 'CHUNK_DIGEST_MISMATCH' // SHA-256 of the data differs from the manifest's (or the chunk's) hash
  | 'TRANSFER_DIGEST_MISMATCH' // SHA-256 of the reassembled file differs from the manifest's
  | 'STAGING_FAILED' // the staging directory or file could not be written (disk full, permissions)
  | 'TRANSFER_EXPIRED' // an incomplete transfer older than transferExpiryMs was dropped
  | 'TRANSFER_ABANDONED' // an incomplete transfer silent for abandonAfterMs gave its slot to a new one
  | 'INSTALL_FAILED' // the lifecycle's onBundleStaged threw
  | 'STATUS_MALFORMED' // a status message that does not parse (sender side)
  | 'NO_TARGETS' // `vigil push --fleet` found no online device in the fleet/cohort
  | 'TIMEOUT' // the sender gave up before every device reached the asked state
  | 'REJECTED'; // the sender's summary: at least one device rejected the transfer

export class UpdateError extends Error {
  constructor(
    readonly code: UpdateErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpdateError';
  }
}
