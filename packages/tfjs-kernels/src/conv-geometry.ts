/** Convolution geometry shared by the gradient kernels: tfjs's own Conv2DInfo, channels last. */
import { backend_util } from '@tensorflow/tfjs-core';

export type Conv2DInfo = backend_util.Conv2DInfo;
type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

export interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number] | null;
  dimRoundingMode?: 'floor' | 'round' | 'ceil' | null;
  dataFormat?: 'NHWC' | 'NCHW';
}

/** Conv2DInfo of the forward convolution x (NHWC shape) * filter. */
export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise: boolean,
): Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode ?? undefined,
    depthwise,
    'channelsLast',
  );
}

export const NHWC_TO_NCHW = [0, 3, 1, 2];
export const NCHW_TO_NHWC = [0, 2, 3, 1];

/** The NHWC form of a shape given in `dataFormat`. */
export function toNHWCShape(shape: number[], dataFormat: 'NHWC' | 'NCHW' | undefined): number[] {
  return dataFormat === 'NCHW' ? NCHW_TO_NHWC.map((i) => shape[i]) : shape;
}
