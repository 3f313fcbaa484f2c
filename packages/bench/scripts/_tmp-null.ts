import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { createModel } from '@sa-unet/unet-zoo';
await tf.setBackend('wasm');
for (const name of ['unet', 'sa-unet', 'unet-plus-plus', 'attention-unet', 'multires-unet'] as const) {
  try {
    const m = createModel(name, { inputShape: [null, null, 1] as never, baseFilters: 8 });
    const a = m.predict(tf.zeros([1, 32, 48, 1])) as tf.Tensor;
    console.log(name, 'ok', a.shape);
    try { m.predict(tf.zeros([1, 36, 48, 1])); console.log(name, '36x48 predicted??'); } catch (e) { console.log(name, '36x48:', (e as Error).message.slice(0, 200)); }
  } catch (e) { console.log(name, 'error:', (e as Error).message.slice(0, 300)); }
}
