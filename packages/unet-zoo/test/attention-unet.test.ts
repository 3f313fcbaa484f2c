import { describeModel } from './model-tester.js';

describeModel('attention-unet');
