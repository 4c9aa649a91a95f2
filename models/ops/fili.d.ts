// Minimal typings for the parts of `fili` (MIT, no bundled types) that the ops library uses.
declare module 'fili' {
  interface FiliBiquad {
    /** Feedback coefficients a1, a2 (a0 normalised to 1). */
    readonly a: readonly number[];
    /** Feed-forward coefficients b0, b1, b2. */
    readonly b: readonly number[];
    /** Extra gain applied to the section. */
    readonly k: number;
  }
  interface FiliCascadeParams {
    /** Number of second-order sections (filter order / 2). */
    order: number;
    characteristic: 'butterworth' | 'bessel';
    Fs: number;
    Fc: number;
  }
  interface CalcCascades {
    lowpass(params: FiliCascadeParams): FiliBiquad[];
    highpass(params: FiliCascadeParams): FiliBiquad[];
  }
  const Fili: { readonly CalcCascades: new () => CalcCascades };
  export default Fili;
}
