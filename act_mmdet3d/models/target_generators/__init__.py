from .act_teacher_autoencoder import ACTTeacherAutoencoder

__all__ = ['ACTTeacherAutoencoder']
