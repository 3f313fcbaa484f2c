/** The published numbers of Kim et al. (Ultrasonography 2022), printed beside ours for reference. */
import type { ModelName } from '@sa-unet/unet-zoo';

export const PAPER_DATASETS = ['HM70A wrist', 'HM70A forearm', 'miniSONO wrist', 'miniSONO forearm'] as const;

/** Table 2: the proposed model, mean +- SD over 20 runs (AUC without SD). */
export const PAPER_TABLE2: Record<(typeof PAPER_DATASETS)[number], Record<'precision' | 'recall' | 'dice' | 'hausdorff', [number, number]> & { auc: number }> = {
  'HM70A wrist': { precision: [0.927, 0.006], recall: [0.924, 0.009], dice: [0.923, 0.004], hausdorff: [5.158, 0.062], auc: 0.9755 },
  'HM70A forearm': { precision: [0.793, 0.028], recall: [0.76, 0.036], dice: [0.761, 0.03], hausdorff: [5.206, 0.151], auc: 0.8846 },
  'miniSONO wrist': { precision: [0.903, 0.014], recall: [0.898, 0.016], dice: [0.897, 0.012], hausdorff: [4.966, 0.173], auc: 0.9399 },
  'miniSONO forearm': { precision: [0.878, 0.013], recall: [0.85, 0.017], dice: [0.858, 0.01], hausdorff: [4.527, 0.133], auc: 0.915 },
};

/** Table 3: DSC / HD of every model on each dataset. */
export const PAPER_TABLE3: Record<ModelName, Array<[number, number]>> = {
  unet: [[0.897, 5.476], [0.719, 5.441], [0.83, 5.43], [0.838, 4.661]],
  'unet-plus-plus': [[0.889, 5.577], [0.713, 5.487], [0.839, 5.243], [0.812, 4.844]],
  'attention-unet': [[0.896, 5.442], [0.744, 5.283], [0.824, 5.449], [0.828, 4.738]],
  'multires-unet': [[0.893, 5.475], [0.653, 6.05], [0.848, 5.141], [0.813, 4.774]],
  'sa-unet': [[0.923, 5.158], [0.761, 5.206], [0.897, 4.966], [0.858, 4.527]],
};

/** Zero-overlap rates: 0.82% for the proposed network, 1.96%-2.95% for the others. */
export const PAPER_ZERO_OVERLAP = { 'sa-unet': 0.0082, othersRange: [0.0196, 0.0295] as [number, number] };

export const PAPER_PARAMS: Partial<Record<ModelName, string>> = { unet: '9.4M', 'sa-unet': '491K' };

export const PAPER_INFERENCE = '9.9 ms per image on one RTX 3090 (proposed model)';

export const MODEL_TITLES: Record<ModelName, string> = {
  unet: 'U-Net',
  'unet-plus-plus': 'U-Net++',
  'attention-unet': 'Attention U-Net',
  'multires-unet': 'MultiRes U-Net',
  'sa-unet': 'SA-U-Net (proposed)',
};
