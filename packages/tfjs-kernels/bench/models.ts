/** The two training workloads of the benchmark, built from stock tfjs layers only. */
import * as tfl from '@tensorflow/tfjs-layers';

type S = tfl.SymbolicTensor;

/** The prototype net: eight 3x3 convolutions of 32 filters (ReLU), then a 1x1 sigmoid head. */
export function plainConvNet(size: number): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, 1] });
  let x: S = input;
  for (let i = 0; i < 8; i++) {
    x = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: `conv${i}` }).apply(x) as S;
  }
  const output = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', name: 'head' }).apply(x) as S;
  return tfl.model({ inputs: input, outputs: output, name: 'plain_conv_net' });
}

/**
 * A depthwise-heavy stack shaped like four scale-attentional layers (32 filters, 4 scales): a 1x1
 * convolution to 8 channels, three cascaded linear separable 3x3 convolutions, the four stages
 * concatenated, then BN and ReLU.
 */
export function scaleCascadeNet(size: number): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, 1] });
  let x: S = input;
  for (let b = 0; b < 4; b++) {
    let f = tfl.layers.conv2d({ filters: 8, kernelSize: 1, name: `b${b}_stage1` }).apply(x) as S;
    const stages = [f];
    for (let n = 2; n <= 4; n++) {
      f = tfl.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', name: `b${b}_stage${n}` }).apply(f) as S;
      stages.push(f);
    }
    x = tfl.layers.concatenate({ name: `b${b}_concat` }).apply(stages) as S;
    x = tfl.layers.batchNormalization({ name: `b${b}_bn` }).apply(x) as S;
    x = tfl.layers.reLU({ name: `b${b}_relu` }).apply(x) as S;
  }
  const output = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', name: 'head' }).apply(x) as S;
  return tfl.model({ inputs: input, outputs: output, name: 'scale_cascade_net' });
}
