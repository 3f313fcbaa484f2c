import * as tfl from '@tensorflow/tfjs-layers';
import { saUnetBase } from '@sa-unet/unet-zoo';

/** The SA-U-Net's encoder-decoder with a head of your own: here, nerve and vessel as two softmax classes plus background. */
export function nerveAndVesselModel(size = 256): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, 1] });
  const features = saUnetBase(input, { inputShape: [size, size, 1], name: 'nerve_vessel' });
  const classes = tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'softmax', name: 'nerve_vessel_classes' }).apply(features) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: classes });
}
