/**
 * The geometry of a forward convolution (NHWC) as this package's convolution programs take it: the
 * filter gradient's split-K product and the forward tiled product, whose uniforms begin with it.
 */
import type { Conv2DInfo } from '../conv-geometry.js';

/** Geometry of the forward convolution (NHWC), as uniforms. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/** The geometry of a forward convolution from tfjs's Conv2DInfo (channels last). */
export function convGeometry(info: Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize, inHeight: info.inHeight, inWidth: info.inWidth, inChannels: info.inChannels,
    outHeight: info.outHeight, outWidth: info.outWidth, outChannels: info.outChannels,
    filterHeight: info.filterHeight, filterWidth: info.filterWidth, strideHeight: info.strideHeight, strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight, dilationWidth: info.dilationWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

/** The WGSL uniform declarations of a ConvGeometry, in the order of {@link convGeometryUniforms}. */
export const CONV_GEOMETRY_UNIFORMS = 'batch : i32, inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, ' +
  'filterHeight : i32, filterWidth : i32, strideHeight : i32, strideWidth : i32, dilationHeight : i32, dilationWidth : i32, ' +
  'padTop : i32, padLeft : i32,';

/** The uniform values of a ConvGeometry, then `more` int32 values (declared after CONV_GEOMETRY_UNIFORMS by the program). */
export function convGeometryUniforms(g: ConvGeometry, ...more: number[]): Array<{ type: 'int32'; data: number[] }> {
  return [g.batch, g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.outChannels, g.filterHeight, g.filterWidth,
    g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft, ...more].map((v) => ({ type: 'int32' as const, data: [v] }));
}
