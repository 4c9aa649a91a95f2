// Preprocessing is part of the approved configuration: a bundle whose steps do not compile against
// this runtime's op catalogue (unknown op or version, bad parameters, broken graph) is refused at
// verification time, not discovered at the first window.
import { BundleError, type Manifest } from '../../models/format/index.ts';
import { OpError, compilePreprocessing } from '../../models/ops/index.ts';

/** Compiles the manifest's preprocessing with models/ops; maps OpError codes to BundleError codes. */
export function validatePreprocessingWithOps(manifest: Manifest): void {
  const { input, model } = manifest;
  try {
    compilePreprocessing(
      manifest.preprocessing,
      {
        rateHz: input.sampleRateHz,
        channels: input.channels.length,
        length: Math.max(1, Math.round(input.windowS * input.sampleRateHz)),
      },
      model.featuresFrom,
      { expectedFeatureNames: model.featureNames },
    );
  } catch (err) {
    if (!(err instanceof OpError)) throw err;
    switch (err.code) {
      case 'UNKNOWN_OP':
      case 'UNKNOWN_VERSION':
        throw new BundleError('UNKNOWN_OP', `preprocessing: ${err.message}`, { cause: err });
      case 'BAD_PARAMS':
      case 'BAD_INPUT':
      case 'BAD_GRAPH':
        throw new BundleError('BAD_PREPROCESSING', `preprocessing: ${err.message}`, { cause: err });
    }
  }
}
