//! Gradient arithmetic over a module's parameters, for combining the Backward gradients that
//! callers send: their norm, and a scaled sum.

use burn::{
	module::{Module, ModuleVisitor, Param},
	optim::GradientsParams,
	prelude::*,
};

/// Sums of squares of a module's gradients.
struct SquaredNorm<'a> {
	grads: &'a GradientsParams,
	sum: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
	fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
		if let Some(grad) = self.grads.get::<D>(param.id) {
			self.sum += f64::from(grad.powf_scalar(2.0).sum().into_scalar::<f32>());
		}
	}
}

/// Adds `scale` × one module's gradients into another set.
struct ScaledAdd<'a> {
	from: GradientsParams,
	into: &'a mut GradientsParams,
	scale: f32,
}

impl ModuleVisitor for ScaledAdd<'_> {
	fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
		if let Some(grad) = self.from.remove::<D>(param.id) {
			let grad = grad.mul_scalar(self.scale);
			let sum = match self.into.remove::<D>(param.id) {
				Some(previous) => previous + grad,
				None => grad,
			};
			self.into.register(param.id, sum);
		}
	}
}

/// The L2 norm of `grads` over `module`'s parameters.
pub fn gradient_norm<M: Module>(grads: &GradientsParams, module: &M) -> f64 {
	let mut visitor = SquaredNorm { grads, sum: 0.0 };
	module.visit(&mut visitor);
	visitor.sum.sqrt()
}

/// `into += scale × from`, parameter by parameter of `module`.
pub fn add_scaled<M: Module>(
	into: &mut GradientsParams,
	from: GradientsParams,
	scale: f32,
	module: &M,
) {
	let mut visitor = ScaledAdd { from, into, scale };
	module.visit(&mut visitor);
}
