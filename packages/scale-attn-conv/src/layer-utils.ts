import type { Tensor } from '@tensorflow/tfjs-core';
import { layers, type Shape } from '@tensorflow/tfjs-layers';

/** The constructor arguments every tfjs layer accepts (name, trainable, inputShape, dtype, ...). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** The one shape of a single-input layer. */
export function singleShape(inputShape: Shape | Shape[], layerName: string): Shape {
  if (Array.isArray(inputShape[0])) {
    const shapes = inputShape as Shape[];
    if (shapes.length !== 1) throw new Error(`${layerName}: expected one input, got ${shapes.length}`);
    return shapes[0];
  }
  return inputShape as Shape;
}

/** The one tensor of a single-input layer. */
export function singleTensor(inputs: Tensor | Tensor[], layerName: string): Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`${layerName}: expected one input tensor, got ${inputs.length}`);
    return inputs[0];
  }
  return inputs;
}

