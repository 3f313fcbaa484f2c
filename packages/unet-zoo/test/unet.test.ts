import { describeModel } from './model-tester.js';

describeModel('unet');
